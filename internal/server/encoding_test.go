package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// serveAllDialects serves latchkey with every dialect on a loopback port.
func serveAllDialects(t *testing.T) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := secrets.NewKeys([]byte(strings.Repeat("s", 32)))
	s, err := New(Options{Store: st, Keys: keys, Issuer: "http://localhost", Logger: log, Dialects: dialect.Names()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL
}

// send makes a request and decodes a JSON answer, if it is one.
func send(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	return resp, m
}

// jsonEndpoints are the POST-only endpoints: the standard ones and each dialect's.
var jsonEndpoints = []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/oauth/requestGuestToken.json",
	"/rest/v1/oauth/requestGuestToken.json", "/flexiti/pos-api/v2.5/oauth/token",
	"/flexiti/pos-api/v2.5/client-id/x/merchants/login", "/v1/token"}

// errorOf reads the error code and description of an error body in any
// dialect's shape: RFC 6749's and Flexiti's (error, error_description) or
// Paytronix's (errorCode, errorMessage). Each dialect's exact shape is
// checked in internal/dialect (TestRefusalsInTheDialectsShape).
func errorOf(m map[string]any) (code, description string) {
	if c, ok := m["errorCode"].(string); ok {
		d, _ := m["errorMessage"].(string)
		return c, d
	}
	c, _ := m["error"].(string)
	d, _ := m["error_description"].(string)
	return c, d
}

// TestContentEncodingRefused: a compressed body is refused with 415 and
// a JSON error naming the problem, instead of being read as an empty form.
func TestContentEncodingRefused(t *testing.T) {
	base := serveAllDialects(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("grant_type=client_credentials&client_id=a&client_secret=b"))
	zw.Close()
	for _, path := range jsonEndpoints {
		for _, coding := range []string{"gzip", "identity, gzip", "br", "x-unknown"} {
			req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(gz.Bytes()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Content-Encoding", coding)
			resp, m := send(t, req)
			code, desc := errorOf(m)
			if resp.StatusCode != http.StatusUnsupportedMediaType || code != "invalid_request" ||
				!strings.Contains(desc, "Content-Encoding") || resp.Header.Get("Accept-Encoding") != "identity" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("POST %s with Content-Encoding %q: %d %v %v", path, coding, resp.StatusCode, m, resp.Header)
			}
		}
	}
	// identity is no coding at all: the request is read as usual.
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Content-Encoding", "identity")
	if resp, m := send(t, req); resp.StatusCode != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Errorf("Content-Encoding identity: %d %v, want the usual invalid_client", resp.StatusCode, m)
	}
}

// TestWrongMethodOnJSONEndpoints: a method a JSON endpoint does not take is
// answered with a JSON 405 and Allow: POST; pages keep their own answers.
func TestWrongMethodOnJSONEndpoints(t *testing.T) {
	base := serveAllDialects(t)
	for _, path := range jsonEndpoints {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions} {
			req, _ := http.NewRequest(method, base+path, nil)
			resp, m := send(t, req)
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s: %d %v", method, path, resp.StatusCode, resp.Header)
			}
			if code, desc := errorOf(m); method != http.MethodHead && (code != "invalid_request" || !strings.Contains(desc, "POST")) {
				t.Errorf("%s %s: body %v", method, path, m)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/oauth2/authorize", nil)
	if resp, _ := send(t, req); resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "GET") {
		t.Errorf("PUT on the authorization page: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/oauth2/nothing-here", nil)
	if resp, _ := send(t, req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET on an unknown path: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/.well-known/oauth-authorization-server", nil)
	if resp, m := send(t, req); resp.StatusCode != http.StatusOK || m["token_endpoint"] == nil {
		t.Errorf("GET metadata: %d %v", resp.StatusCode, m)
	}
}
