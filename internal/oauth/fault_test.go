package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// errConnReset is what a driver says when the database connection drops.
var errConnReset = errors.New("write tcp 127.0.0.1:5432: connection reset by peer")

// faultStore is the real backend with injected failures: the next call of
// an armed method fails, either before reaching the database (the request
// never arrived) or after it (the write happened, the answer was lost).
type faultStore struct {
	storage.Storage
	mu    sync.Mutex
	armed map[string]bool // method name -> fail after the real call
	skip  map[string]int  // method name -> calls to let through before an armed one fails
}

// armLater arms method to fail its call after the next skip calls.
func (f *faultStore) armLater(method string, skip int) {
	f.arm(method, false)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.skip == nil {
		f.skip = map[string]int{}
	}
	f.skip[method] = skip
}

func (f *faultStore) arm(method string, after bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.armed == nil {
		f.armed = map[string]bool{}
	}
	f.armed[method] = after
}

// trip reports whether method is armed (disarming it) and whether to fail after the call.
func (f *faultStore) trip(method string) (armed, after bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.skip[method] > 0 {
		f.skip[method]--
		return false, false
	}
	after, armed = f.armed[method]
	delete(f.armed, method)
	return armed, after
}

func faulty[T any](f *faultStore, method string, call func() (T, error)) (T, error) {
	armed, after := f.trip(method)
	if !armed {
		return call()
	}
	var zero T
	if after {
		call()
	}
	return zero, errConnReset
}

func (f *faultStore) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	return faulty(f, "GetAccount", func() (storage.Account, error) { return f.Storage.GetAccount(ctx, id) })
}

func (f *faultStore) GetRefreshGrant(ctx context.Context, id string) (storage.RefreshToken, *storage.Account, error) {
	g, err := faulty(f, "GetRefreshGrant", func() (refreshGrant, error) {
		t, a, err := f.Storage.GetRefreshGrant(ctx, id)
		return refreshGrant{t, a}, err
	})
	return g.token, g.account, err
}

func (f *faultStore) GetAuthCodeGrant(ctx context.Context, id string) (storage.AuthCode, *storage.Account, error) {
	g, err := faulty(f, "GetAuthCodeGrant", func() (codeGrant, error) {
		c, a, err := f.Storage.GetAuthCodeGrant(ctx, id)
		return codeGrant{c, a}, err
	})
	return g.code, g.account, err
}

// refreshGrant and codeGrant carry a grant read's two results through faulty.
type refreshGrant struct {
	token   storage.RefreshToken
	account *storage.Account
}

type codeGrant struct {
	code    storage.AuthCode
	account *storage.Account
}

func (f *faultStore) GetAccessToken(ctx context.Context, id string) (storage.AccessToken, error) {
	return faulty(f, "GetAccessToken", func() (storage.AccessToken, error) { return f.Storage.GetAccessToken(ctx, id) })
}

func (f *faultStore) RotateRefreshToken(ctx context.Context, r storage.Rotation) (storage.RotationResult, error) {
	return faulty(f, "RotateRefreshToken", func() (storage.RotationResult, error) { return f.Storage.RotateRefreshToken(ctx, r) })
}

func (f *faultStore) CreateTokens(ctx context.Context, ts storage.TokenSet) error {
	_, err := faulty(f, "CreateTokens", func() (struct{}, error) { return struct{}{}, f.Storage.CreateTokens(ctx, ts) })
	return err
}

func (f *faultStore) RevokeGrantTokens(ctx context.Context, accountID, clientID string, now time.Time) (int64, error) {
	return faulty(f, "RevokeGrantTokens", func() (int64, error) { return f.Storage.RevokeGrantTokens(ctx, accountID, clientID, now) })
}

func (f *faultStore) DeleteConsent(ctx context.Context, accountID, clientID string, owner storage.ResourceOwner) error {
	_, err := faulty(f, "DeleteConsent", func() (struct{}, error) {
		return struct{}{}, f.Storage.DeleteConsent(ctx, accountID, clientID, owner)
	})
	return err
}

func (f *faultStore) RedeemAuthCode(ctx context.Context, id string, now time.Time, ts storage.TokenSet) error {
	_, err := faulty(f, "RedeemAuthCode", func() (struct{}, error) { return struct{}{}, f.Storage.RedeemAuthCode(ctx, id, now, ts) })
	return err
}

// wantUnavailable checks a database failure was answered as the server's
// problem: 503 temporarily_unavailable with Retry-After, never an OAuth
// error that would make the client drop its grant.
func wantUnavailable(t *testing.T, what string, status int, h http.Header, body map[string]any) {
	t.Helper()
	if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" {
		t.Fatalf("%s during a database failure: %d %v Retry-After=%q; want 503 temporarily_unavailable with Retry-After",
			what, status, body, h.Get("Retry-After"))
	}
}

// TestStorageFailureDuringRefreshKeepsTheGrant: whichever read or write of
// a refresh fails, the client gets a 503 and its refresh token still works.
func TestStorageFailureDuringRefreshKeepsTheGrant(t *testing.T) {
	for _, tc := range []struct {
		name, client, secret, method string
		after                        bool
	}{
		{"token and account read", guestApp, guestSec, "GetRefreshGrant", false},
		{"rotation not written", guestApp, guestSec, "RotateRefreshToken", false},
		{"rotation written, answer lost", guestApp, guestSec, "RotateRefreshToken", true},
		{"access token not written (no rotation)", norotApp, norotSec, "CreateTokens", false},
		{"token and account read (no rotation)", norotApp, norotSec, "GetRefreshGrant", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachFaultyBackend(t, func(t *testing.T, e *env, f *faultStore) {
				_, rt := e.login(tc.client, tc.secret)
				f.arm(tc.method, tc.after)
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
				status, h, body := e.post("/oauth2/token", form, tc.client, tc.secret)
				wantUnavailable(t, "refresh", status, h, body)
				again := e.refresh(tc.client, tc.secret, rt)
				if again.status != http.StatusOK {
					t.Fatalf("refresh after the failure: %d %v", again.status, again.body)
				}
				if !e.active(again.body["access_token"].(string)) {
					t.Fatal("the access token of the retried refresh is not active")
				}
			})
		})
	}
}

// TestStorageFailureDuringGraceRetry: a retry within the grace window that
// cannot read the stored successor is a 503, and the next retry gets the
// successor the first rotation issued.
func TestStorageFailureDuringGraceRetry(t *testing.T) {
	eachFaultyBackend(t, func(t *testing.T, e *env, f *faultStore) {
		_, rt := e.login(guestApp, guestSec)
		first := e.refresh(guestApp, guestSec, rt)
		if first.status != http.StatusOK {
			t.Fatalf("first refresh: %d %v", first.status, first.body)
		}
		f.arm("GetAccessToken", false)
		status, h, body := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, guestApp, guestSec)
		wantUnavailable(t, "grace retry", status, h, body)
		again := e.refresh(guestApp, guestSec, rt)
		if again.status != http.StatusOK || again.body["refresh_token"] != first.body["refresh_token"] ||
			again.body["access_token"] != first.body["access_token"] {
			t.Fatalf("grace retry after the failure: %d %v; want the first successor", again.status, again.body)
		}
		if !e.active(first.body["refresh_token"].(string)) {
			t.Fatal("the successor was revoked by the failed retry")
		}
	})
}

// TestStorageFailureDuringCodeExchange: a failed read of the code and its
// account does not use the code up.
func TestStorageFailureDuringCodeExchange(t *testing.T) {
	eachFaultyBackend(t, func(t *testing.T, e *env, f *faultStore) {
		code := e.code(guestApp, "", "")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
		f.arm("GetAuthCodeGrant", false)
		status, h, body := e.post("/oauth2/token", form, guestApp, guestSec)
		wantUnavailable(t, "code exchange", status, h, body)
		status, _, body = e.post("/oauth2/token", form, guestApp, guestSec)
		if status != http.StatusOK {
			t.Fatalf("code exchange after the failure: %d %v", status, body)
		}
	})
}

func (f *faultStore) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return faulty(f, "ListSigningKeys", func() ([]storage.SigningKey, error) { return f.Storage.ListSigningKeys(ctx) })
}

// TestStorageFailureReadingSigningKeys: when the keys cannot be read, a JWT
// access token and an id_token_hint are the server's problem (503), not
// taken for forgeries (inactive, invalid_request).
func TestStorageFailureReadingSigningKeys(t *testing.T) {
	eachFaultyBackend(t, func(t *testing.T, e *env, f *faultStore) {
		oidcClients(t, e)
		code := oidcCode(t, e, oidcApp, []string{"openid"}, "", e.clock.Now())
		_, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, oidcApp, oidcSecret)
		hint := body["id_token"].(string)
		_, _, jwtBody := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, jwtApp, jwtSecret)

		e.clock.Add(time.Minute) // past the keyring's cache: the next check reads the keys
		f.arm("ListSigningKeys", false)
		status, h, m := e.post("/oauth2/introspect", url.Values{"token": {jwtBody["access_token"].(string)}}, rsID, rsSecret)
		wantUnavailable(t, "introspecting a JWT", status, h, m)

		e.clock.Add(time.Minute)
		f.arm("ListSigningKeys", false)
		q := url.Values{"client_id": {oidcApp}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"},
			"id_token_hint": {hint}}
		if _, aerr := e.core.ParseAuthorize(context.Background(), q, oauth.AuthorizeProfile{}); aerr == nil || aerr.Status != http.StatusServiceUnavailable {
			t.Fatalf("id_token_hint while the keys cannot be read: %+v, want 503", aerr)
		}
		if _, aerr := e.core.ParseAuthorize(context.Background(), q, oauth.AuthorizeProfile{}); aerr != nil {
			t.Fatalf("id_token_hint once the keys read again: %+v", aerr)
		}
	})
}

// eachFaultyBackend is eachBackend with the store wrapped for fault injection.
func eachFaultyBackend(t *testing.T, fn func(t *testing.T, e *env, f *faultStore)) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		f := &faultStore{Storage: st}
		fn(t, newEnv(t, f, oauth.Config{}), f)
	})
}

// TestConsentWithdrawalStorageFailures: a database failure at each step of
// a withdrawal. Before the consent goes (the revocation or the deletion
// fails) the caller gets the error and withdrawing again finishes it, the
// token revoked; once the consent is gone, a failure of the second
// revocation is logged and the withdrawal stands.
func TestConsentWithdrawalStorageFailures(t *testing.T) {
	for _, tc := range []struct {
		name, method string
		skip         int
		failed       bool // the first withdrawal answers the error
	}{
		{"first revocation", "RevokeGrantTokens", 0, true},
		{"deletion", "DeleteConsent", 0, true},
		{"second revocation", "RevokeGrantTokens", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachFaultyBackend(t, func(t *testing.T, e *env, f *faultStore) {
				ctx := context.Background()
				access, _ := e.login(guestApp, guestSec)
				err := e.store.SaveConsent(ctx, storage.Consent{AccountID: "acc-john", ClientID: guestApp,
					Owner: storage.ResourceOwner{Type: storage.OwnerGuest, ID: "acc-john"}, Scopes: []string{"user_read"}, GrantedAt: time.Now()})
				if err != nil {
					t.Fatal(err)
				}
				dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: f, Keys: e.keys, Argon2: fastArgon2})
				if err != nil {
					t.Fatal(err)
				}
				f.armLater(tc.method, tc.skip)
				n, err := dir.WithdrawConsent(ctx, "acc-john", guestApp)
				if tc.failed {
					if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, oauth.ErrRejected) {
						t.Fatalf("withdrawal during the failure: %d, %v; want the database's error", n, err)
					}
					if n, err = dir.WithdrawConsent(ctx, "acc-john", guestApp); err != nil || n != 1 {
						t.Fatalf("withdrawing again: %d, %v; want the consent withdrawn", n, err)
					}
				} else if err != nil || n != 1 {
					t.Fatalf("withdrawal whose second revocation failed: %d, %v; want it done", n, err)
				}
				if e.active(access) {
					t.Error("the client's token for the account is still active after the withdrawal")
				}
				if cs, err := dir.Consents(ctx, "acc-john"); err != nil || len(cs) != 0 {
					t.Errorf("consents after the withdrawal: %v, %v", cs, err)
				}
				if armed, _ := f.trip(tc.method); armed {
					t.Errorf("%s never failed: the withdrawal did not call it as often as the case assumes", tc.method)
				}
			})
		})
	}
}
