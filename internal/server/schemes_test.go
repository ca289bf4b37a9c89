package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// TestMetricsPasswordHashes: /metrics counts the accounts by password hash
// scheme, from the store the server was given.
func TestMetricsPasswordHashes(t *testing.T) {
	s, _ := newTestServer(t, slog.New(slog.DiscardHandler))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := w.Body.String()
	for _, want := range []string{`(?m)^latchkey_password_hashes\{scheme="argon2id"\} [0-9]+$`,
		`(?m)^latchkey_password_hashes\{scheme="bcrypt"\} 0$`} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Fatalf("/metrics lacks %s:\n%s", want, text)
		}
	}
}
