package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// merchantFaultStore lets faultStore fail merchant reads too.
type merchantFaultStore struct{ *faultStore }

func (f merchantFaultStore) GetMerchant(ctx context.Context, id string) (storage.Merchant, error) {
	return faulty(f.faultStore, "GetMerchant", func() (storage.Merchant, error) { return f.Storage.GetMerchant(ctx, id) })
}

// jwtPayload decodes a JWT's claims without checking it; jwt_test.go checks signatures.
func jwtPayload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestClaimsStorageFailureIsUnavailable: when the account or merchant behind
// a token's claims cannot be read, introspection and JWT issuance answer 503
// instead of claims silently missing their username or organization; and a
// JWT issued at login takes the account the grant already loaded.
func TestClaimsStorageFailureIsUnavailable(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		f := &faultStore{Storage: st}
		e := newEnv(t, merchantFaultStore{f}, oauth.Config{})
		// A merchant-owned token: the organization needs the merchant.
		cc := url.Values{"grant_type": {"client_credentials"}}
		status, _, m := e.post("/oauth2/token", cc, guestApp, guestSec)
		if status != http.StatusOK {
			t.Fatalf("client credentials: %d %v", status, m)
		}
		opaque := m["access_token"].(string)
		f.arm("GetMerchant", false)
		status, h, m := e.post("/oauth2/introspect", url.Values{"token": {opaque}}, rsID, rsSecret)
		wantUnavailable(t, "introspection of a merchant's token", status, h, m)
		f.arm("GetMerchant", false)
		status, h, m = e.post("/oauth2/token", cc, jwtApp, jwtSecret)
		wantUnavailable(t, "JWT issuance for a merchant", status, h, m)
		if in := e.introspect(opaque); in["active"] != true || in["merchant_id"] != merchantID {
			t.Fatalf("introspection after the failure: %v", in)
		}

		// A guest's token: the username needs the account.
		guest, _ := e.login(guestApp, guestSec)
		f.arm("GetAccount", false)
		status, h, m = e.post("/oauth2/introspect", url.Values{"token": {guest}}, rsID, rsSecret)
		wantUnavailable(t, "introspection of a guest's token", status, h, m)
		if in := e.introspect(guest); in["username"] != guestUser || in["merchant_id"] != merchantID {
			t.Fatalf("introspection after the failure: %v", in)
		}

		// Issuing a JWT at login does not read the account again: with its
		// next read armed to fail, the login still succeeds, the JWT has the
		// username, and the fault is left for the introspection after it.
		f.arm("GetAccount", false)
		jwt := e.jwtToken(url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {guestPass}})
		if c := jwtPayload(t, jwt); c["username"] != guestUser || c["sub"] != "acc-john" || c["merchant_id"] != merchantID {
			t.Fatalf("password-grant JWT claims: %v", c)
		}
		status, h, m = e.post("/oauth2/introspect", url.Values{"token": {guest}}, rsID, rsSecret)
		wantUnavailable(t, "introspection after a JWT login", status, h, m)
	})
}
