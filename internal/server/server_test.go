package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/reqid"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

func newTestServer(t *testing.T, log *slog.Logger) (*Server, func() error) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := secrets.NewKeys([]byte(strings.Repeat("s", 32)))
	s, err := New(Options{Store: st, Keys: keys, Issuer: "http://localhost", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return s, st.Close
}

func get(s http.Handler, path string) (int, map[string]any, http.Header) {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	var m map[string]any
	json.Unmarshal(w.Body.Bytes(), &m)
	return w.Code, m, w.Header()
}

func TestHealthAndReadiness(t *testing.T) {
	var logs bytes.Buffer
	s, closeStore := newTestServer(t, slog.New(reqid.Handler(slog.NewTextHandler(&logs, nil))))
	if code, m, h := get(s, "/healthz"); code != 200 || m["status"] != "ok" || h.Get("X-Request-Id") == "" || h.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("healthz: %d %v %v", code, m, h)
	}
	if code, m, _ := get(s, "/readyz"); code != 200 || m["status"] != "ready" {
		t.Fatalf("readyz: %d %v", code, m)
	}
	if !strings.Contains(logs.String(), "path=/readyz status=200") || !strings.Contains(logs.String(), "request_id=") {
		t.Fatalf("access log lacks the request line or its id:\n%s", logs.String())
	}
	closeStore()
	code, m, _ := get(s, "/readyz")
	if code != http.StatusServiceUnavailable || m["status"] != "unavailable" || strings.Contains(m["error"].(string), "sql") {
		t.Fatalf("readyz with a closed database: %d %v", code, m)
	}
}

func TestPanicBecomes500(t *testing.T) {
	var logs bytes.Buffer
	s, _ := newTestServer(t, slog.New(slog.NewTextHandler(&logs, nil)))
	h := s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "boom") || strings.Contains(w.Body.String(), "goroutine") {
		t.Fatalf("panic answer: %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Fatal("the panic was not logged")
	}
}
