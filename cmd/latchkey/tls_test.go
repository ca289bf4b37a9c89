package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/testcert"
)

// replaceFile writes data to path atomically, as a certificate renewal
// tool does: a new file renamed over the old one.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

var listeningAny = regexp.MustCompile(`latchkey listening on (https?://\S+)`)

// startServeAny runs `latchkey serve --addr 127.0.0.1:0 args…` in dir and
// returns its base URL (http or https) once printed, and its stdout and
// stderr as they are written; the server is stopped when the test ends.
func startServeAny(t *testing.T, dir string, args ...string) (base string, stdout, stderr *urlWriter) {
	t.Helper()
	cmd := exec.Command(latchkeyBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir, cmd.Env = dir, cleanEnv()
	stdout, stderr = newURLWriter(), newURLWriter()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	out := stdout.waitFor(t, "latchkey listening on ")
	m := listeningAny.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no address in %q; stderr:\n%s", out, stderr.String())
	}
	return m[1], stdout, stderr
}

// TestTLSServeAndReload: serve --tls-cert/--tls-key answers HTTPS (TLS 1.2
// or later) with HSTS and an https issuer, keeps its certificate when a
// changed file does not load (and says so), and serves a renewed
// certificate without a restart.
func TestTLSServeAndReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first, second := testcert.New(t, 1001), testcert.New(t, 2002)
	replaceFile(t, certFile, first.CertPEM)
	replaceFile(t, keyFile, first.KeyPEM)
	base, _, stderr := startServeAny(t, dir, "--db", "sqlite:"+filepath.Join(dir, "lk.db"),
		"--secret-file", filepath.Join(dir, "secret"), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("serve with TLS prints %q, want https://127.0.0.1:PORT", base)
	}

	roots := x509.NewCertPool()
	roots.AddCert(first.Cert)
	roots.AddCert(second.Cert)
	// A new connection per request, so each one sees the certificate served now.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
	get := func() (*http.Response, map[string]any) {
		t.Helper()
		resp, err := client.Get(base + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatalf("GET discovery over https: %v", err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("discovery: %d %v", resp.StatusCode, err)
		}
		return resp, doc
	}
	served := func(resp *http.Response) *big.Int { return resp.TLS.PeerCertificates[0].SerialNumber }

	resp, doc := get()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000" {
		t.Fatalf("Strict-Transport-Security over https = %q, want max-age=63072000", got)
	}
	if doc["issuer"] != base || !strings.HasPrefix(doc["token_endpoint"].(string), base+"/") {
		t.Fatalf("issuer %v, token_endpoint %v; want both under %s", doc["issuer"], doc["token_endpoint"], base)
	}
	if served(resp).Cmp(first.Serial) != 0 {
		t.Fatalf("served certificate serial %v, want %v", served(resp), first.Serial)
	}

	// The container's health check reaches it over https on loopback, from
	// the address and the TLS setting as the image gives them.
	port := base[strings.LastIndex(base, ":")+1:]
	hc := runCLI(t, dir, []string{"LATCHKEY_ADDR=0.0.0.0:" + port, "LATCHKEY_TLS_CERT=" + certFile, "LATCHKEY_TLS_KEY=" + keyFile},
		"healthcheck")
	if hc.code != 0 || !strings.Contains(hc.stdout, "ready: https://127.0.0.1:"+port) {
		t.Fatalf("healthcheck of the TLS server exited %d, stdout %q, stderr %q", hc.code, hc.stdout, hc.stderr)
	}

	// Below TLS 1.2 there is no handshake.
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a TLS 1.1 client was answered")
	}

	// A certificate file that does not load is logged and the pair served so far kept.
	if err := os.WriteFile(certFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(stderr.String(), "does not load") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged for a broken certificate file within 20s:\n%s", stderr.String())
		}
		get() // a handshake makes the server look at its files
		<-tick.C
	}
	if resp, _ := get(); served(resp).Cmp(first.Serial) != 0 {
		t.Fatalf("after a broken certificate file the server serves serial %v, want the previous %v", served(resp), first.Serial)
	}

	// The renewed pair is served, without a restart.
	replaceFile(t, keyFile, second.KeyPEM)
	replaceFile(t, certFile, second.CertPEM)
	deadline = time.Now().Add(20 * time.Second)
	for {
		resp, _ := get()
		if served(resp).Cmp(second.Serial) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving serial %v 20s after the certificate files were replaced", served(resp))
		}
		<-tick.C
	}
	if n := strings.Count(stderr.String(), "does not load"); n > 2 {
		// Once for the broken file, at most once more for the instant the
		// new key sat beside the broken certificate: not once per handshake.
		t.Fatalf("the load error was logged %d times:\n%s", n, stderr.String())
	}
}

// TestTLSPlainHTTPHasNoHSTS: without TLS there is no
// Strict-Transport-Security, and the issuer is http://.
func TestTLSPlainHTTPHasNoHSTS(t *testing.T) {
	dir := t.TempDir()
	base, _, _ := startServeAny(t, dir, "--db", "sqlite:"+filepath.Join(dir, "lk.db"), "--secret-file", filepath.Join(dir, "secret"))
	resp, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	decodeJSON(t, resp, &doc)
	if resp.StatusCode != http.StatusOK || doc["issuer"] != base || !strings.HasPrefix(base, "http://") {
		t.Fatalf("plain serve: %d, issuer %v, base %s", resp.StatusCode, doc["issuer"], base)
	}
	if _, ok := resp.Header["Strict-Transport-Security"]; ok {
		t.Fatalf("plain http answered Strict-Transport-Security: %q", resp.Header.Get("Strict-Transport-Security"))
	}
}

// TestTLSSettingsRefused: a certificate without its key, or a file that
// is missing or not PEM, stops serve with one line naming the problem.
func TestTLSSettingsRefused(t *testing.T) {
	dir := t.TempDir()
	c := testcert.New(t, 7)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	replaceFile(t, certFile, c.CertPEM)
	replaceFile(t, keyFile, []byte("not a key\n"))
	env := []string{"LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret"), "LATCHKEY_DB=sqlite:" + filepath.Join(dir, "lk.db")}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"cert without key", nil, []string{"--tls-cert", certFile}, "tls-cert and tls-key go together"},
		{"key without cert (env)", []string{"LATCHKEY_TLS_KEY=" + keyFile}, nil, "tls-cert and tls-key go together"},
		{"missing file", nil, []string{"--tls-cert", filepath.Join(dir, "nope.pem"), "--tls-key", keyFile}, "tls: certificate file: "},
		{"bad key", nil, []string{"--tls-cert", certFile, "--tls-key", keyFile}, "tls: load certificate " + certFile},
	} {
		res := runCLI(t, dir, append(env, tc.env...), append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
		lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
		if res.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want one line with %q", tc.name, res.code, res.stderr, tc.want)
		}
	}
}
