package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/demo"
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

// demoServer serves latchkey on a fresh SQLite file with the demo data.
// so and o are the store's and the server's options beyond those it fills
// in (migration, store, keys, and an issuer and a silent log if unset).
func demoServer(tb testing.TB, so sqlstore.Options, o Options) *httptest.Server {
	tb.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	so.Migrate, so.Logger = true, cmp.Or(so.Logger, log)
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "lk.db"), so)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	keys, _ := secrets.NewKeys([]byte(strings.Repeat("d", 32)))
	if err := demo.Load(ctx, st, keys); err != nil {
		tb.Fatal(err)
	}
	o.Store, o.Keys, o.Issuer, o.Logger = st, keys, cmp.Or(o.Issuer, "http://demo"), cmp.Or(o.Logger, log)
	srv, err := New(o)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	return ts
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

func TestAccessLogOmitsQuery(t *testing.T) {
	var logs bytes.Buffer
	s, _ := newTestServer(t, slog.New(slog.NewTextHandler(&logs, nil)))
	if code, _, _ := get(s, "/healthz?client_secret=hunter2&code=abc"); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	if !strings.Contains(logs.String(), "path=/healthz status=200") {
		t.Fatalf("no access log line:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "hunter2") || strings.Contains(logs.String(), "code=abc") {
		t.Fatalf("the query string was logged:\n%s", logs.String())
	}
}

func TestBodyLimit(t *testing.T) {
	s, _ := newTestServer(t, slog.New(slog.DiscardHandler))
	// A declared length over the cap is refused before any handler runs.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", bytes.NewReader(make([]byte, MaxRequestBody+1)))
	s.ServeHTTP(w, r)
	var m map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || w.Code != http.StatusRequestEntityTooLarge || m["error"] != "invalid_request" {
		t.Fatalf("oversized body: %d %q", w.Code, w.Body.String())
	}

	// A body of unknown length is cut off at the cap while it is read.
	var readErr error
	var read int
	h := limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		read, readErr = len(b), err
	}))
	for _, tc := range []struct {
		size    int
		tooLong bool
	}{{MaxRequestBody, false}, {MaxRequestBody + 1, true}} {
		r := httptest.NewRequest(http.MethodPost, "/x", io.MultiReader(bytes.NewReader(make([]byte, tc.size))))
		r.ContentLength = -1
		h.ServeHTTP(httptest.NewRecorder(), r)
		var tooBig *http.MaxBytesError
		if got := errors.As(readErr, &tooBig); got != tc.tooLong || !tc.tooLong && read != tc.size {
			t.Fatalf("body of %d bytes: read %d, err %v", tc.size, read, readErr)
		}
	}
}

// TestServeDrainsInFlight: after ctx ends, Serve stops accepting
// connections but lets a request that is being served finish.
func TestServeDrainsInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, slog.New(slog.DiscardHandler)) }()

	type result struct {
		body string
		err  error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- result{string(b), err}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the request never reached the handler")
	}
	cancel()
	// Wait until the listener is closed: shutdown has begun.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener stayed open after ctx ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	default:
	}
	close(release)
	if r := <-answered; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after a clean shutdown: %v", err)
	}
}

// TestMetricsLabelUnmatchedPaths: paths no route matches share one label,
// so made-up paths cannot grow the metrics without bound.
func TestMetricsLabelUnmatchedPaths(t *testing.T) {
	s, _ := newTestServer(t, slog.New(slog.DiscardHandler))
	for _, p := range []string{"/nope", "/nope/2", "/healthz"} {
		get(s, p)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := w.Body.String()
	for _, want := range []string{`latchkey_http_requests_total{code="404",route="unmatched"} 2`,
		`latchkey_http_requests_total{code="200",route="GET /healthz"} 1`} {
		if !strings.Contains(text, want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "/nope") {
		t.Fatal("/metrics names an unmatched path")
	}
}

// TestSecurityHeadersSurvivePagesOwn: the fixed headers share their value
// slices between responses, so a page that sets its own policy must not
// change what the next response carries.
func TestSecurityHeadersSurvivePagesOwn(t *testing.T) {
	s, _ := newTestServer(t, slog.New(slog.DiscardHandler))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/oauth2/authorize?client_id=nobody&response_type=code", nil))
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("the error page's own policy is missing (status %d): %q", w.Code, csp)
	}
	want := map[string]string{"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY",
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
	for range 2 {
		_, _, h := get(s, "/healthz")
		for k, v := range want {
			if got := h.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s after a page set its own: %q, want %q", k, got, v)
			}
		}
	}
}
