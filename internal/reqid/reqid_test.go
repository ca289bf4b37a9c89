package reqid

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddlewareAndLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, nil)))
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handled")
	}))
	cases := []struct {
		header, value string
		wantHeader    string
		keep          bool
	}{
		{"X-Reference-Id", "ref-42", "X-Reference-Id", true},
		{"X-Request-Id", "req-7", "X-Request-Id", true},
		{"X-Request-Id", strings.Repeat("x", 65), "X-Request-Id", false},
		{"X-Request-Id", "bad id\n", "X-Request-Id", false},
		{"", "", "X-Request-Id", false},
	}
	for _, tc := range cases {
		buf.Reset()
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get(tc.wantHeader)
		if tc.keep && got != tc.value || !tc.keep && (got == "" || got == tc.value) {
			t.Errorf("%s=%q: echoed %q", tc.header, tc.value, got)
		}
		if !strings.Contains(buf.String(), "request_id="+got) {
			t.Errorf("log line %q lacks request_id=%s", buf.String(), got)
		}
	}
}
