package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var gatewayListening = regexp.MustCompile(`latchkey gateway listening on (http://\S+),`)

// TestServeWithGatewaySection: a gateway: section of the serve config runs
// the gateway beside the server, checking tokens in the shared database.
func TestServeWithGatewaySection(t *testing.T) {
	dir := t.TempDir()
	seen := make(chan string, 4)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("X-Latchkey-Merchant-Id")
	}))
	defer upstream.Close()
	rules, _ := filepath.Abs("../../examples/flexiti-gateway.yaml")
	cfgFile := filepath.Join(dir, "latchkey.yaml")
	os.WriteFile(cfgFile, []byte("gateway:\n  rules: "+rules+"\n  upstream: "+upstream.URL+"\n  addr: 127.0.0.1:0\n"), 0o600)

	cmd := exec.Command(latchkeyBin, "serve", "--demo", "--addr", "127.0.0.1:0", "--config", cfgFile,
		"--db", "sqlite:"+filepath.Join(dir, "lk.db"), "--secret-file", filepath.Join(dir, "secret"))
	cmd.Dir, cmd.Env = dir, cleanEnv()
	out, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	urls := make(chan [2]string, 1)
	go func() {
		var api, gw string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				api = m[1]
			}
			if m := gatewayListening.FindStringSubmatch(sc.Text()); m != nil {
				gw = m[1]
			}
			if api != "" && gw != "" {
				urls <- [2]string{api, gw}
				api = ""
			}
		}
	}()
	var api, gw string
	select {
	case u := <-urls:
		api, gw = u[0], u[1]
	case <-time.After(time.Minute):
		t.Fatalf("serve did not print both addresses; stderr:\n%s", stderr.String())
	}
	resp, err := http.PostForm(api+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"flexitidemo"},
		"client_secret": {"77xde15a-9d33-4c15-930a-3se4b3as33e9"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %v %v", err, resp)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decodeJSON(t, resp, &tok)
	req, _ := http.NewRequest(http.MethodGet, gw+"/flexiti/pos-api/v2.5/reports/daily", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("through the gateway: %v %v", err, resp)
	}
	resp.Body.Close()
	if m := <-seen; m != "123456" {
		t.Fatalf("upstream saw merchant %q", m)
	}
	resp, _ = http.Get(gw + "/flexiti/pos-api/v2.5/reports/daily")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token through the gateway: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// postBasic posts form to u with HTTP Basic client credentials.
func postBasic(t *testing.T, u string, form url.Values, id, secret string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
