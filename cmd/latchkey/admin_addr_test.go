package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/demo"
)

var adminListening = regexp.MustCompile(`admin API listening on (https?://\S+)`)

// TestAdminAddrServesTheAdminAPIAlone: with --admin-addr the admin API
// (and its OpenAPI document) answers on that listener, through the same
// middleware (request ids, metrics), and the main listener answers 404
// under /admin/v1/ while serving OAuth as before.
func TestAdminAddrServesTheAdminAPIAlone(t *testing.T) {
	dir := t.TempDir()
	base, stdout, _ := startServeAny(t, dir, "--demo", "--admin-addr", "127.0.0.1:0",
		"--db", "sqlite:"+filepath.Join(dir, "lk.db"), "--secret-file", filepath.Join(dir, "secret"))
	m := adminListening.FindStringSubmatch(stdout.waitFor(t, "admin API listening on "))
	if m == nil || m[1] == base || !strings.HasPrefix(m[1], "http://127.0.0.1:") {
		t.Fatalf("admin address %v, main %s:\n%s", m, base, stdout.String())
	}
	adminBase := m[1]

	// The token comes from the main listener, as every token does.
	resp, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {demo.DemoAdminClientID}, "client_secret": {demo.DemoAdminSecret}, "scope": {"latchkey:admin"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decodeJSON(t, resp, &tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("admin token: %d", resp.StatusCode)
	}
	call := func(base, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("X-Request-Id", "admin-addr-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", base, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	resp, body := call(adminBase, "/admin/v1/merchants")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"id":"777777"`) {
		t.Fatalf("admin listener, GET /admin/v1/merchants: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") != "admin-addr-test" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("the admin listener skips the middleware: headers %v", resp.Header)
	}
	if resp, body := call(adminBase, "/admin/v1/openapi.json"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"openapi"`) {
		t.Fatalf("admin listener, openapi.json: %d", resp.StatusCode)
	}
	for _, path := range []string{"/admin/v1/merchants", "/admin/v1/openapi.json", "/admin/v1/keys"} {
		if resp, body := call(base, path); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("main listener, GET %s: %d %s; want 404", path, resp.StatusCode, body)
		}
	}
	// The admin listener serves the admin API only.
	if resp, _ := call(adminBase, "/oauth2/token"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("admin listener, /oauth2/token: %d; want 404", resp.StatusCode)
	}
	// Its requests are counted in the one /metrics.
	if resp, body := call(base, "/metrics"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `latchkey_http_requests_total{code="200",route="GET /admin/v1/merchants"} 1`) {
		t.Fatalf("/metrics does not count the admin listener's request:\n%s", body)
	}
}

// TestAdminAddrRefused: a bad --admin-addr stops serve with one line.
func TestAdminAddrRefused(t *testing.T) {
	dir := t.TempDir()
	env := []string{"LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret"), "LATCHKEY_DB=sqlite:" + filepath.Join(dir, "lk.db")}
	res := runCLI(t, dir, env, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "nonsense")
	if lines := strings.Split(strings.TrimSpace(res.stderr), "\n"); res.code == 0 || len(lines) != 1 ||
		!strings.Contains(lines[0], `admin-addr "nonsense" is not HOST:PORT`) {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
}
