package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// introspectAs returns the introspection of token as client id sees it.
func (e *env) introspectAs(id, secret, token string) map[string]any {
	e.t.Helper()
	status, _, m := e.post("/oauth2/introspect", url.Values{"token": {token}}, id, secret)
	if status != http.StatusOK {
		e.t.Fatalf("introspect as %s: status %d %v", id, status, m)
	}
	return m
}

// grant posts a token request as client id and returns the access and refresh tokens.
func (e *env) grant(id, secret string, form url.Values) (access, refresh string) {
	e.t.Helper()
	status, _, m := e.post("/oauth2/token", form, id, secret)
	if status != http.StatusOK {
		e.t.Fatalf("%s grant as %s: status %d %v", form.Get("grant_type"), id, status, m)
	}
	refresh, _ = m["refresh_token"].(string)
	return m["access_token"].(string), refresh
}

// storedToken stores an access token acting for owner, issued to client, and returns its value.
func (e *env) storedToken(client string, owner storage.ResourceOwner) string {
	e.t.Helper()
	value, id := e.keys.NewToken(secrets.AccessTokenKind)
	now := e.clock.Now()
	at := storage.AccessToken{ID: id, ClientID: client, Owner: owner, Scopes: []string{"user_read"}, IssuedAt: now,
		ExpiresAt: now.Add(time.Hour)}
	if err := e.store.CreateTokens(context.Background(), storage.TokenSet{Access: &at}); err != nil {
		e.t.Fatal(err)
	}
	return value
}

// TestIntrospectionPolicy: a client learns about its own tokens; other
// clients' tokens only with the introspect permission, and when it is
// bound to a merchant only that merchant's. Everything else is only
// {"active": false}.
func TestIntrospectionPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.store.CreateMerchant(ctx, storage.Merchant{ID: "888888", Name: "Elsewhere"}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.CreateOrganization(ctx, storage.Organization{ID: "o-1", Name: "Group"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []storage.Client{
			{ID: "rs-777777", MerchantID: merchantID},
			{ID: "rs-888888", MerchantID: "888888"},
		} {
			c.Name, c.SecretHash, c.GrantTypes, c.Introspect = c.ID, e.keys.HashClientSecret(c.ID+"-secret"),
				[]string{oauth.GrantClientCredentials}, true
			if err := e.store.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		guest, _ := e.grant(guestApp, guestSec, url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {guestPass}})
		merchant, _ := e.grant(guestApp, guestSec, url.Values{"grant_type": {"client_credentials"}}) // acts for 777777
		unbound, _ := e.grant(confID, confSecret, url.Values{"grant_type": {"client_credentials"}})  // acts for no merchant
		org := e.storedToken(guestApp, storage.ResourceOwner{Type: storage.OwnerOrganization, ID: "o-1"})
		other, _ := e.grant("rs-888888", "rs-888888-secret", url.Values{"grant_type": {"client_credentials"}})
		tokens := map[string]string{"guest": guest, "merchant": merchant, "unbound": unbound, "org": org, "other": other}

		for _, tc := range []struct {
			client, secret string
			sees           map[string]bool
		}{
			// Its own tokens only, though bound to the same merchant as the guest's.
			{guestApp, guestSec, map[string]bool{"guest": true, "merchant": true, "org": true}},
			{confID, confSecret, map[string]bool{"unbound": true}},
			// A resource server of no merchant sees every tenant's.
			{rsID, rsSecret, map[string]bool{"guest": true, "merchant": true, "unbound": true, "org": true, "other": true}},
			// Bound to a merchant: that merchant's tokens (its guests', its own), never an organization's or another's.
			{"rs-777777", "rs-777777-secret", map[string]bool{"guest": true, "merchant": true}},
			{"rs-888888", "rs-888888-secret", map[string]bool{"other": true}},
		} {
			for name, token := range tokens {
				got := e.introspectAs(tc.client, tc.secret, token)
				if tc.sees[name] {
					if got["active"] != true || got["client_id"] == nil {
						t.Errorf("%s introspecting the %s token: %v, want it active", tc.client, name, got)
					}
				} else if len(got) != 1 || got["active"] != false {
					t.Errorf("%s introspecting the %s token: %v, want only active false", tc.client, name, got)
				}
			}
		}
		if status, _, m := e.post("/oauth2/introspect", url.Values{"token": {guest}, "client_id": {publicApp}}, "", ""); status != http.StatusBadRequest ||
			m["error"] != oauth.ErrUnauthorizedClient {
			t.Errorf("public client introspecting: %d %v", status, m)
		}
	})
}

// TestFailedRedemptionUsesCodeUp: a code presented with the wrong
// code_verifier, client or redirect URI cannot be redeemed afterwards,
// even correctly.
func TestFailedRedemptionUsesCodeUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		verifier := "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk"
		sum := sha256.Sum256([]byte(verifier))
		challenge := base64.RawURLEncoding.EncodeToString(sum[:])
		good := func(code string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
				"code_verifier": {verifier}}
		}
		for _, tc := range []struct {
			name           string
			client, secret string
			edit           func(url.Values)
		}{
			{"wrong verifier", guestApp, guestSec, func(v url.Values) { v.Set("code_verifier", verifier[:42]+"x") }},
			{"malformed verifier", guestApp, guestSec, func(v url.Values) { v.Set("code_verifier", "short") }},
			{"missing verifier", guestApp, guestSec, func(v url.Values) { v.Del("code_verifier") }},
			{"wrong redirect URI", guestApp, guestSec, func(v url.Values) { v.Set("redirect_uri", redirectURI+"/other") }},
			{"wrong client", norotApp, norotSec, func(url.Values) {}},
		} {
			code := e.code(guestApp, challenge, "S256")
			bad := good(code)
			tc.edit(bad)
			if status, _, m := e.post("/oauth2/token", bad, tc.client, tc.secret); status != http.StatusBadRequest {
				t.Fatalf("%s: status %d %v, want 400", tc.name, status, m)
			}
			status, _, m := e.post("/oauth2/token", good(code), guestApp, guestSec)
			if status != http.StatusBadRequest || m["error"] != oauth.ErrInvalidGrant {
				t.Errorf("%s, then the right request: status %d %v, want invalid_grant", tc.name, status, m)
			}
		}
		// The right request alone still works.
		if status, _, m := e.post("/oauth2/token", good(e.code(guestApp, challenge, "S256")), guestApp, guestSec); status != http.StatusOK {
			t.Fatalf("right request: %d %v", status, m)
		}
	})
}

// TestAccountChangesRevoke: a new password, a disabled account and a
// deleted client end the tokens that depend on them; a disabled account
// signs in again only once enabled.
func TestAccountChangesRevoke(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: e.store, Keys: e.keys, Argon2: fastArgon2, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		login := func(password string) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {password}}
		}
		refreshes := func(refresh string) bool {
			status, _, _ := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, guestApp, guestSec)
			return status == http.StatusOK
		}
		access, refresh := e.grant(guestApp, guestSec, login(guestPass))
		kept, keptRefresh := e.grant(norotApp, norotSec, login(guestPass))
		code := e.code(guestApp, "", "") // issued before the change, redeemed after it
		if !e.active(access) || !e.active(kept) {
			t.Fatal("fresh tokens are not active")
		}
		if err := dir.SetPassword(ctx, "acc-john", "a-new-password"); err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"access": access, "refresh": refresh, "kept access": kept, "kept refresh": keptRefresh} {
			if e.active(tok) {
				t.Errorf("after a password change the %s token is active", name)
			}
		}
		if refreshes(refresh) || refreshes(keptRefresh) {
			t.Error("a refresh token issued before the password change still refreshes")
		}
		if status, _, _ := e.post("/oauth2/token", login(guestPass), guestApp, guestSec); status == http.StatusOK {
			t.Error("the old password still logs in")
		}
		if status, _, m := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, guestApp, guestSec); status != http.StatusBadRequest || m["error"] != oauth.ErrInvalidGrant {
			t.Errorf("a code issued before the password change: %d %v", status, m)
		}
		access, refresh = e.grant(guestApp, guestSec, login("a-new-password"))

		if err := dir.SetDisabled(ctx, "acc-john", true); err != nil {
			t.Fatal(err)
		}
		if e.active(access) || e.active(refresh) || refreshes(refresh) {
			t.Error("a disabled account's tokens still work")
		}
		if status, _, _ := e.post("/oauth2/token", login("a-new-password"), guestApp, guestSec); status == http.StatusOK {
			t.Error("a disabled account logs in")
		}
		if err := dir.SetDisabled(ctx, "acc-john", false); err != nil {
			t.Fatal(err)
		}
		if e.active(access) {
			t.Error("enabling the account brought a revoked token back")
		}
		e.grant(guestApp, guestSec, login("a-new-password"))
		if err := dir.SetDisabled(ctx, "acc-nobody", true); err == nil {
			t.Error("disabling an unknown account succeeded")
		}

		// A deleted client's tokens go with it.
		access, _ = e.grant(confID, confSecret, url.Values{"grant_type": {"client_credentials"}})
		if err := dir.DeleteClient(ctx, confID); err != nil {
			t.Fatal(err)
		}
		if e.active(access) {
			t.Error("a deleted client's token is active")
		}
		// Its row is gone, so no token of it can be stored, even while
		// servers still hold it in their 5 s cache.
		if status, _, _ := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, confID, confSecret); status == http.StatusOK {
			t.Error("a deleted client got a token")
		}
	})
}

// TestPasswordChangeRacesRefresh: refreshes running while the password
// changes leave no live token, whichever finished first: a refresh that
// read the account before the change issues tokens of the old epoch.
func TestPasswordChangeRacesRefresh(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: e.store, Keys: e.keys, Argon2: fastArgon2, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		const n = 16
		refresh := make([]string, n)
		for i := range refresh {
			_, refresh[i] = e.grant(guestApp, guestSec, url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {guestPass}})
		}
		got := make([][]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh[i]}}
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(guestApp, guestSec)
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				var m map[string]any
				json.NewDecoder(resp.Body).Decode(&m)
				if a, ok := m["access_token"].(string); ok {
					got[i] = []string{a, m["refresh_token"].(string)}
				}
			})
		}
		wg.Go(func() {
			<-start
			if err := dir.SetPassword(context.Background(), "acc-john", "a-new-password"); err != nil {
				t.Error(err)
			}
		})
		close(start)
		wg.Wait()
		for i, toks := range got {
			for _, tok := range append(toks, refresh[i]) {
				if e.active(tok) {
					t.Errorf("refresh %d: a token is active after the password change", i)
				}
			}
		}
	})
}
