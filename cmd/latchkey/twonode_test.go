package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestTwoNodes runs two servers on one PostgreSQL database, as two nodes
// behind a load balancer: what one node issues, rotates or revokes, the
// other sees at once, because neither keeps token state of its own.
func TestTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	var skew atomic.Int64 // both nodes' clock, moved past the refresh grace below
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	a := demoserver.Start(t, demoserver.Options{DSN: dsn, Now: now})
	b := demoserver.Start(t, demoserver.Options{DSN: dsn, Now: now})

	type answer struct {
		status                    int
		AccessToken, RefreshToken string
		Error                     string
		Active                    bool
	}
	post := func(node *demoserver.Site, path string, form url.Values) answer {
		t.Helper()
		form.Set("client_id", "flexitidemo")
		form.Set("client_secret", "77xde15a-9d33-4c15-930a-3se4b3as33e9")
		resp, err := http.PostForm(node.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			Error        string `json:"error"`
			Active       bool   `json:"active"`
		}
		json.NewDecoder(resp.Body).Decode(&raw)
		return answer{resp.StatusCode, raw.AccessToken, raw.RefreshToken, raw.Error, raw.Active}
	}
	active := func(node *demoserver.Site, tok string) bool {
		t.Helper()
		got := post(node, "/oauth2/introspect", url.Values{"token": {tok}})
		if got.status != http.StatusOK {
			t.Fatalf("introspect: %+v", got)
		}
		return got.Active
	}

	// Issued on A, introspected on B.
	first := post(a, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
	if first.status != http.StatusOK || first.AccessToken == "" || first.RefreshToken == "" {
		t.Fatalf("token on A: %+v", first)
	}
	if !active(b, first.AccessToken) || !active(b, first.RefreshToken) {
		t.Fatal("tokens issued on A are not active on B")
	}

	// Rotated on A, replayed on B after the grace period: reuse, and the
	// family, A's successor included, is revoked everywhere.
	second := post(a, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
	if second.status != http.StatusOK || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("rotation on A: %+v", second)
	}
	skew.Store(int64(11 * time.Second)) // the demo's refresh grace is 10 s
	replay := post(b, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
	if replay.status != http.StatusBadRequest || replay.Error != "invalid_grant" {
		t.Fatalf("replay on B of a token rotated on A: %+v, want 400 invalid_grant", replay)
	}
	if active(a, second.RefreshToken) || active(a, second.AccessToken) {
		t.Fatal("the successor A issued is still active after B detected the reuse")
	}
	if got := post(a, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.RefreshToken}}); got.status != http.StatusBadRequest {
		t.Fatalf("refresh on A with the revoked successor: %+v", got)
	}

	// Revoked on B, refused on A.
	third := post(a, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
	if third.status != http.StatusOK || !active(a, third.AccessToken) {
		t.Fatalf("token on A: %+v", third)
	}
	if got := post(b, "/oauth2/revoke", url.Values{"token": {third.AccessToken}}); got.status != http.StatusOK {
		t.Fatalf("revoke on B: %+v", got)
	}
	if active(a, third.AccessToken) {
		t.Fatal("a token revoked on B is still active on A")
	}
	if got := post(b, "/oauth2/revoke", url.Values{"token": {third.RefreshToken}}); got.status != http.StatusOK {
		t.Fatalf("revoke on B: %+v", got)
	}
	if active(a, third.RefreshToken) {
		t.Fatal("a refresh token revoked on B is still active on A")
	}
	if got := post(a, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third.RefreshToken}}); got.status != http.StatusBadRequest {
		t.Fatalf("refresh on A with a token revoked on B: %+v", got)
	}
}
