package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage/backend"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

var listening = regexp.MustCompile(`latchkey listening on (http://\S+)`)

// urlWriter keeps what the server prints and hands over the first
// "latchkey listening on URL" line's URL.
type urlWriter struct {
	mu      sync.Mutex
	buf     strings.Builder
	urls    chan string
	sent    bool
	written chan struct{} // a token after each write, for waitFor
}

func newURLWriter() *urlWriter {
	return &urlWriter{urls: make(chan string, 1), written: make(chan struct{}, 1)}
}

func (w *urlWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := listening.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.urls <- m[1]
	}
	select {
	case w.written <- struct{}{}:
	default: // a token is already waiting
	}
	return len(p), nil
}

// waitFor returns what was printed once it contains want.
func (w *urlWriter) waitFor(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		if out := w.String(); strings.Contains(out, want) {
			return out
		}
		select {
		case <-w.written:
		case <-timeout:
			t.Fatalf("the server did not print %q within 30s:\n%s", want, w.String())
		}
	}
}

func (w *urlWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// serveRun is the outcome of one `latchkey serve`.
type serveRun struct {
	code           int
	stdout, stderr string
}

// startServe runs `latchkey serve` with args in dir and returns its base URL
// once it printed it; the returned function stops it with sig and reports
// how it exited and what it printed.
func startServe(t *testing.T, dir string, args ...string) (string, func(sig os.Signal) serveRun) {
	t.Helper()
	base, stop, _ := startServeOut(t, dir, args...)
	return base, stop
}

// startServeOut is startServe that also hands over what serve prints, as it prints it.
func startServeOut(t *testing.T, dir string, args ...string) (string, func(sig os.Signal) serveRun, *urlWriter) {
	t.Helper()
	cmd := exec.Command(latchkeyBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir, cmd.Env = dir, cleanEnv()
	stdout := newURLWriter()
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func(sig os.Signal) serveRun {
		cmd.Process.Signal(sig)
		err := cmd.Wait() // also waits until all output is copied
		run := serveRun{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			run.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("wait for latchkey serve: %v", err)
		}
		return run
	}
	select {
	case u := <-stdout.urls:
		return u, stop, stdout
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("serve printed no address within a minute; stderr:\n%s", stderr.String())
		return "", nil, nil
	}
}

// waitReady checks /readyz answers 200. The port is bound and the database
// open before serve prints its address, so the first request is answered
// as soon as serving starts: nothing to poll for.
func waitReady(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz answered %d", resp.StatusCode)
	}
}

// checkDemoRows opens the database and checks every row of the demo table is there.
func checkDemoRows(t *testing.T, db config.DB, secretFile string) {
	t.Helper()
	ctx := context.Background()
	secret, _, err := config.Config{SecretFile: secretFile}.SystemSecret(false)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.NewKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	st, err := backend.Open(ctx, db.Driver, db.Source(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, o := range demo.Organizations {
		if _, err := st.GetOrganization(ctx, o.ID); err != nil {
			t.Errorf("organization %s: %v", o.ID, err)
		}
	}
	for _, m := range demo.Merchants {
		if got, err := st.GetMerchant(ctx, m.ID); err != nil || got.Name != m.Name || got.OrganizationID != m.OrganizationID {
			t.Errorf("merchant %s: %+v %v", m.ID, got, err)
		}
	}
	for _, a := range demo.Accounts {
		got, err := st.GetAccount(ctx, a.ID)
		if err != nil {
			t.Errorf("account %s: %v", a.Username, err)
			continue
		}
		if ok, _, _ := secrets.VerifyPassword(got.PasswordHash, a.Password, secrets.DefaultArgon2); !ok || got.Username != a.Username {
			t.Errorf("account %s: password does not verify or username %q", a.Username, got.Username)
		}
	}
	for _, c := range demo.Clients {
		got, err := st.GetClient(ctx, c.ID)
		if err != nil {
			t.Errorf("client %s: %v", c.ID, err)
			continue
		}
		if c.Secret != "" && !keys.VerifyClientSecret(got.SecretHash, c.Secret) || c.Secret == "" && !got.Public() {
			t.Errorf("client %s: secret does not verify", c.ID)
		}
	}
}

func testServeDemo(t *testing.T, dbFlag string, db config.DB) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	for run := range 2 { // the second run finds the demo data and changes nothing
		base, stop := startServe(t, dir, "--demo", "--db", dbFlag, "--secret-file", secretFile)
		waitReady(t, base)
		resp, err := http.PostForm(base+"/oauth2/token", map[string][]string{"grant_type": {"client_credentials"},
			"client_id": {"flexitidemo"}, "client_secret": {"77xde15a-9d33-4c15-930a-3se4b3as33e9"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("run %d: demo client_credentials: %v %v", run, err, resp)
		}
		resp.Body.Close()
		// --demo turns every dialect on.
		req, _ := http.NewRequest(http.MethodPost, base+"/flexiti/pos-api/v2.5/oauth/token",
			strings.NewReader("client_id=flexitidemo&client_secret=77xde15a-9d33-4c15-930a-3se4b3as33e9"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("x-reference-id", "serve-test")
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("x-reference-id") != "serve-test" {
			t.Fatalf("run %d: flexiti dialect under --demo: %v %v", run, err, resp)
		}
		resp.Body.Close()
		checkMetrics(t, base)
		sig := []os.Signal{syscall.SIGTERM, syscall.SIGINT}[run]
		res := stop(sig)
		if res.code != 0 {
			t.Fatalf("run %d: exit %d after %v; stderr:\n%s", run, res.code, sig, res.stderr)
		}
		if !strings.Contains(res.stderr, "msg=stopped") {
			t.Fatalf("run %d: no clean stop logged:\n%s", run, res.stderr)
		}
		for _, want := range []string{base + "/readyz", base + "/oauth/requestGuestToken.json",
			base + "/flexiti/pos-api/v2.5/oauth/token", base + "/oauth2/token"} {
			if !strings.Contains(res.stdout, want) {
				t.Fatalf("run %d: the demo instructions lack %s:\n%s", run, want, res.stdout)
			}
		}
	}
	checkDemoRows(t, db, secretFile)
}

// checkMetrics: /metrics counts the token requests just made, under their
// route pattern, the group commits that stored their tokens, and the
// password checks.
func checkMetrics(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("get /metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`latchkey_http_requests_total{code="200",route="POST /oauth2/token"} 1`,
		`latchkey_http_requests_total{code="200",route="POST /flexiti/pos-api/v2.5/oauth/token"} 1`,
		`latchkey_storage_commit_duration_seconds_count{outcome="ok"}`,
		`latchkey_password_checks_total `, `latchkey_logins_shed_total `, `go_goroutines `, `process_resident_memory_bytes `,
	} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(text, want) {
			t.Fatalf("/metrics (%d) lacks %s:\n%s", resp.StatusCode, want, text)
		}
	}
}

func TestServeDemoSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lk.db")
	testServeDemo(t, "sqlite:"+path, config.DB{Driver: "sqlite", Path: path})
}

func TestServeDemoPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	testServeDemo(t, dsn, config.DB{Driver: "postgres", URL: dsn})
}

// TestStartupErrors: each bad start prints one line naming the problem and exits non-zero.
func TestStartupErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("addr: [unclosed\n"), 0o600)
	unknown := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknown, []byte("adress: 127.0.0.1:1\n"), 0o600)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad dsn", []string{"serve", "--db", "mysql://x"}, `db "mysql://x" is not supported`},
		// Port 0: the default 127.0.0.1:8080 may be taken (by the demo, say),
		// and these must fail on the database, not on the port.
		{"unreachable database", []string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://postgres@127.0.0.1:1/nope?sslmode=disable"}, "connect to postgres database"},
		{"missing sqlite directory", []string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(dir, "no", "such", "lk.db")}, "does not exist"},
		{"address in use", []string{"serve", "--addr", busy.Addr().String(), "--db", "sqlite:" + filepath.Join(dir, "busy.db")}, "listen on " + busy.Addr().String()},
		{"unknown flag", []string{"serve", "--bogus"}, "unknown flag: --bogus"},
		{"malformed config", []string{"serve", "--config", bad}, "config file"},
		{"unknown config key", []string{"serve", "--config", unknown}, `unknown setting "adress"`},
		{"missing config", []string{"serve", "--config", filepath.Join(dir, "nope.yaml")}, "read config file"},
		{"admin on a new database", []string{"client", "list", "--db", "sqlite:" + filepath.Join(dir, "fresh.db")}, "latchkey migrate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, dir, []string{"LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret")}, tc.args...)
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if res.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("exit %d, stderr %q: want one line containing %q", res.code, res.stderr, tc.want)
			}
			for _, bad := range []string{"goroutine", "panic", ".go:"} {
				if strings.Contains(res.stderr, bad) {
					t.Fatalf("stderr has %q: %s", bad, res.stderr)
				}
			}
		})
	}
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	env := []string{"LATCHKEY_DB=sqlite:" + filepath.Join(dir, "lk.db"), "LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret")}
	for range 2 {
		res := runCLI(t, dir, env, "migrate")
		if res.code != 0 || !strings.Contains(res.stdout, "up to date") {
			t.Fatalf("migrate: %+v", res)
		}
	}
}

var exchangeArea = regexp.MustCompile(`(?s)<textarea id="exchange"[^>]*>(.*?)</textarea>`)

// redeem runs a printed curl command in a shell and checks it got tokens.
func redeem(t *testing.T, command string) {
	t.Helper()
	out, err := exec.Command("sh", "-c", command).Output()
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	var tok map[string]any
	if err := json.Unmarshal(out, &tok); err != nil || tok["access_token"] == nil || tok["refresh_token"] == nil || tok["id_token"] == nil {
		t.Fatalf("%s answered %s (%v)", command, out, err)
	}
}

// TestServeDemoPKCE follows the banner's authorization code example against
// `serve --demo --dialects aston`: the banner shows the aston example and
// not the other dialects'; its authorize URL, a staff sign-in and consent
// lead to the demo's callback page, whose command gets tokens, as does the
// banner's own command with a code pasted in. Without --demo there is no
// callback page.
func TestServeDemoPKCE(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("running the printed commands needs curl")
	}
	dir := t.TempDir()
	args := []string{"--db", "sqlite:" + filepath.Join(dir, "lk.db"), "--secret-file", filepath.Join(dir, "secret")}
	base, stop, stdout := startServeOut(t, dir, append([]string{"--demo", "--dialects", "aston"}, args...)...)
	banner := stdout.waitFor(t, "/.well-known/oauth-authorization-server")
	for _, want := range []string{demo.AuthorizeURL(base), base + "/authorize/merchant?", "needs the demo on 127.0.0.1:8080"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %s:\n%s", want, banner)
		}
	}
	for _, other := range []string{"/oauth/requestGuestToken.json", "/flexiti/"} {
		if strings.Contains(banner, other) {
			t.Errorf("the banner shows %s, of a dialect not served:\n%s", other, banner)
		}
	}

	a := webtest.NewAgent(t)
	authorize := func() url.Values {
		t.Helper()
		status, h, body := a.Get(demo.AuthorizeURL(base))
		if strings.Contains(body, `<form id="login"`) {
			status, h, body = a.Submit(base, body, url.Values{"username": {"acmejewellers"}, "password": {"dice-vanila-purse"}})
		}
		if strings.Contains(body, `<form id="consent"`) {
			status, h, _ = a.Submit(base, body, url.Values{"decision": {"allow"}})
		}
		loc, err := url.Parse(h.Get("Location"))
		if status != http.StatusSeeOther || err != nil || !strings.HasPrefix(h.Get("Location"), demo.SPARedirectURI+"?") {
			t.Fatalf("authorization ended with %d, Location %q", status, h.Get("Location"))
		}
		return loc.Query()
	}
	q := authorize()
	status, _, body := a.Get(base + "/callback?" + q.Encode())
	m := exchangeArea.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil || !strings.Contains(body, q.Get("code")) || !strings.Contains(body, demo.PKCEState) {
		t.Fatalf("callback page: %d\n%s", status, body)
	}
	redeem(t, html.UnescapeString(m[1]))
	printed := regexp.MustCompile(`(?s)curl -s -d grant_type=authorization_code.*?/oauth2/token`).FindString(banner)
	if !strings.Contains(printed, "PASTE_CODE") {
		t.Fatalf("no code exchange in the banner:\n%s", banner)
	}
	redeem(t, strings.Replace(printed, "PASTE_CODE", authorize().Get("code"), 1))
	if res := stop(syscall.SIGTERM); res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}

	base, stop = startServe(t, dir, args...)
	if status, _, _ := a.Get(base + "/callback?code=c1"); status != http.StatusNotFound {
		t.Errorf("GET /callback without --demo: %d, want 404", status)
	}
	if res := stop(syscall.SIGTERM); res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
}
