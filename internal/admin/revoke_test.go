package admin_test

import (
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestRevokeByClientAndMerchant: POST /tokens/revoke by client_id makes
// the client's earlier tokens inactive and leaves other clients' alone;
// by merchant_id, everything of that merchant and nothing of another. A
// merchant admin cannot reach another merchant's client (403; the 403 for
// another merchant_id is in TestTenantIsolation).
func TestRevokeByClientAndMerchant(t *testing.T) { revokeByClientAndMerchant(t, start(t)) }

// TestRevokeOnPostgres runs the same on PostgreSQL (skipped without
// LATCHKEY_TEST_POSTGRES_DSN).
func TestRevokeOnPostgres(t *testing.T) { revokeByClientAndMerchant(t, startOn(t, pgtest.DSN(t))) }

func revokeByClientAndMerchant(t *testing.T, e *env) {
	// newClient registers a client_credentials client through the API
	// and returns a function that gets a token of it.
	newClient := func(token, id, merchant string) func() string {
		t.Helper()
		body := map[string]any{"client_id": id, "client_name": id, "grant_types": []string{"client_credentials"},
			"scope": "user_read", "default_scope": "user_read", "access_token_ttl": 600}
		if merchant != "" {
			body["merchant_id"] = merchant
		}
		c := e.must(t, 201, e.call(t, token, "POST", "/admin/v1/clients", body)).object(t)
		secret, _ := c["client_secret"].(string)
		if c["merchant_id"] != merchant || secret == "" {
			t.Fatalf("created client: %v", c)
		}
		return func() string { return e.clientToken(t, id, secret) }
	}
	pos := newClient(e.m777, "rv-pos-777", "777777")
	kiosk := newClient(e.m777, "rv-kiosk-777", "777777")
	other := newClient(e.platform, "rv-pos-123", "123456")
	pos1, pos2, kiosk1, other1 := pos(), pos(), kiosk(), other()
	activity := func(tokens ...string) []bool {
		t.Helper()
		var out []bool
		for _, tok := range tokens {
			out = append(out, e.active(t, tok))
		}
		return out
	}
	want := func(what string, got []bool, want ...bool) {
		t.Helper()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: active %v, want %v", what, got, want)
			}
		}
	}
	want("before any revocation", activity(pos1, pos2, kiosk1, other1), true, true, true, true)

	// By client: both of its tokens, nothing of the others; a later token lives.
	e.must(t, 204, e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"client_id": "rv-pos-777"}))
	want("after revoking rv-pos-777", activity(pos1, pos2, kiosk1, other1), false, false, true, true)
	// Again: nothing more to revoke, still answered 204.
	e.must(t, 204, e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"client_id": "rv-pos-777"}))
	pos3 := pos()
	want("a token issued after the revocation", activity(pos3, kiosk1), true, true)

	// Another merchant's client is out of reach for 777777's admin.
	e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"client_id": "rv-pos-123"}).problem(t, 403, "")
	want("after a refused revocation", activity(other1), true)

	// By merchant: 123456's, by the platform, leaves 777777's alone...
	e.must(t, 204, e.call(t, e.platform, "POST", "/admin/v1/tokens/revoke", map[string]string{"merchant_id": "123456"}))
	want("after revoking merchant 123456", activity(other1, kiosk1, pos3), false, true, true)
	// ...and 777777's, by its own admin, takes every client of it.
	other2 := other()
	e.must(t, 204, e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"merchant_id": "777777"}))
	want("after revoking merchant 777777", activity(kiosk1, pos3, other2), false, false, true)
	// Its admin's own token acts for 777777 too.
	e.call(t, e.m777, "GET", "/admin/v1/merchants/777777", nil).problem(t, 401, "")
}
