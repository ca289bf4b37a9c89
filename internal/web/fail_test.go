package web_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/logbuf"
	"github.com/latchkey-dev/latchkey/internal/web"
)

// downSessions is the demo store with its browser sessions unreachable.
type downSessions struct{ web.Store }

func (downSessions) GetSession(context.Context, string) (storage.Session, error) {
	return storage.Session{}, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// TestStorageFailurePage: a page whose storage call fails is a 503 page with
// Retry-After, not a 500, and the failures are logged once, with their count.
func TestStorageFailurePage(t *testing.T) {
	d := demoserver.Start(t, demoserver.Options{})
	var logs logbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	core, err := oauth.New(oauth.Config{Store: d.Store, Keys: d.Keys, Issuer: d.URL, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := web.New(web.Options{Core: core, Store: downSessions{d.Store}, Keys: d.Keys, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	session, _ := d.Keys.NewToken(secrets.SessionKind)
	q := url.Values{"client_id": {"demo-spa"}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1:8080/callback"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	for range 20 {
		r := httptest.NewRequest(http.MethodGet, "/oauth2/authorize?"+q.Encode(), nil)
		r.AddCookie(&http.Cookie{Name: "lk_session", Value: session})
		w := httptest.NewRecorder()
		pages.Authorize(w, r)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "<h1") {
			t.Fatalf("authorization page with the sessions unreachable: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "failures=1") {
		t.Fatalf("20 failed pages logged %d error lines, want 1 (the first, failures=1):\n%s", n, logs.String())
	}
}
