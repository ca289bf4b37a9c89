package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

const (
	deviceApp                 = "device-app" // public, as a terminal is
	deviceConf, deviceConfSec = "device-conf", "device-conf-secret"
	deviceSource              = "192.0.2.10" // where the person types the user code
)

// userCodeFormat is a user code as shown: XXXX-XXXX of the no-vowel alphabet.
var userCodeFormat = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// deviceClients registers the staff account of oidcClients and two clients
// of the device grant for staff: a public one (PKCE required, as the CLI
// makes every public client, and irrelevant to this grant) and a
// confidential one. Both may ask for openid.
func deviceClients(t *testing.T, e *env) {
	t.Helper()
	oidcClients(t, e)
	for _, c := range []struct{ id, secret string }{{deviceApp, ""}, {deviceConf, deviceConfSec}} {
		cl := storage.Client{ID: c.id, Name: c.id, GrantTypes: []string{oauth.GrantDeviceCode, oauth.GrantRefreshToken},
			Scopes: []string{"openid", "profile", "user_read"}, DefaultScopes: []string{"user_read"},
			AccessTokenTTL: 30 * time.Minute, RefreshTokenTTL: 24 * time.Hour, AccountKind: storage.Staff,
			RotateRefresh: true, RequirePKCE: c.secret == ""}
		if c.secret != "" {
			cl.SecretHash = e.keys.HashClientSecret(c.secret)
		}
		if err := e.store.CreateClient(context.Background(), cl); err != nil {
			t.Fatal(err)
		}
	}
}

// deviceAuthorize starts a device authorization for deviceApp and returns the answer.
func (e *env) deviceAuthorize(scope string) map[string]any {
	e.t.Helper()
	status, _, body := e.post("/oauth2/device_authorization", url.Values{"client_id": {deviceApp}, "scope": {scope}}, "", "")
	if status != http.StatusOK || body["device_code"] == nil || body["user_code"] == nil {
		e.t.Fatalf("device authorization: %d %v", status, body)
	}
	return body
}

// decide answers the device authorization of userCode as the staff
// account, acting for the merchant, as the /device page does.
func (e *env) decide(userCode string, approve bool, authTime time.Time) {
	e.t.Helper()
	ctx := context.Background()
	req, oerr := e.core.LookupUserCode(ctx, userCode, deviceSource)
	if oerr != nil {
		e.t.Fatalf("LookupUserCode(%q): %v", userCode, oerr)
	}
	acc, err := e.store.GetAccount(ctx, staffID)
	if err != nil {
		e.t.Fatal(err)
	}
	owner := storage.ResourceOwner{Type: storage.OwnerMerchant, ID: merchantID}
	if oerr := e.core.DecideDevice(ctx, req, approve, acc, owner, authTime); oerr != nil {
		e.t.Fatalf("DecideDevice: %v", oerr)
	}
}

// pollDevice is one poll of the token endpoint by deviceApp.
func (e *env) pollDevice(deviceCode string) (int, map[string]any) {
	e.t.Helper()
	status, _, body := e.post("/oauth2/token", url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {deviceCode},
		"client_id": {deviceApp}}, "", "")
	return status, body
}

// wantPollError fails unless a poll is answered 400 with code.
func wantPollError(t *testing.T, status int, body map[string]any, code string) {
	t.Helper()
	if status != http.StatusBadRequest || body["error"] != code {
		t.Fatalf("poll: %d %v, want 400 %s", status, body, code)
	}
}

// TestDeviceGrantWithOAuth2Client: x/oauth2 as the terminal starts the
// authorization and polls; the person approves for the merchant; the
// token acts for that merchant and its refresh token works.
func TestDeviceGrantWithOAuth2Client(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		cfg := oauth2.Config{ClientID: deviceApp, Scopes: []string{"user_read"}, Endpoint: oauth2.Endpoint{
			DeviceAuthURL: e.srv.URL + "/oauth2/device_authorization", TokenURL: e.srv.URL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams}}
		da, err := cfg.DeviceAuth(clientCtx(e))
		if err != nil {
			t.Fatalf("x/oauth2 DeviceAuth: %v", err)
		}
		if !userCodeFormat.MatchString(da.UserCode) || da.VerificationURI != e.srv.URL+"/device" || da.Interval != 5 {
			t.Fatalf("device authorization as x/oauth2 reads it: %+v", da)
		}
		e.decide(da.UserCode, true, e.clock.Now())
		// x/oauth2 waits one interval before its first poll; one second is
		// the shortest it accepts (the server's clock does not move, and a
		// first poll is never too soon).
		da.Interval = 1
		ctx, cancel := context.WithTimeout(clientCtx(e), 30*time.Second)
		defer cancel()
		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatalf("x/oauth2 DeviceAccessToken: %v", err)
		}
		if tok.RefreshToken == "" || tok.Extra("scope") != "user_read" {
			t.Fatalf("device token: %+v scope %v", tok, tok.Extra("scope"))
		}
		in := e.introspect(tok.AccessToken)
		if in["active"] != true || in["merchant_id"] != merchantID || in["client_id"] != deviceApp || in["sub"] != staffID ||
			in["resource_owner_type"] != "merchant" {
			t.Fatalf("introspection of the device token: %v", in)
		}
		// The refresh token is bound to the same merchant.
		status, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"client_id": {deviceApp}}, "", "")
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, body)
		}
		if in := e.introspect(body["access_token"].(string)); in["active"] != true || in["merchant_id"] != merchantID {
			t.Fatalf("introspection of the refreshed token: %v", in)
		}
	})
}

// TestDeviceAuthorizationAnswer: the fields of RFC 8628 §3.2, form and
// JSON bodies, and the user code's format.
func TestDeviceAuthorizationAnswer(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		body := e.deviceAuthorize("")
		verify := e.srv.URL + "/device"
		uc, _ := body["user_code"].(string)
		if body["verification_uri"] != verify || body["verification_uri_complete"] != verify+"?user_code="+uc ||
			body["expires_in"] != float64(600) || body["interval"] != float64(5) || !userCodeFormat.MatchString(uc) {
			t.Fatalf("device authorization answer: %v", body)
		}
		if dc, _ := body["device_code"].(string); len(dc) < 32 || strings.Contains(dc, uc) {
			t.Fatalf("device code %q", dc)
		}
		// The scopes recorded are the client's defaults when none are asked for.
		req, oerr := e.core.LookupUserCode(context.Background(), uc, deviceSource)
		if oerr != nil || strings.Join(req.Scopes, " ") != "user_read" || req.Client.ID != deviceApp {
			t.Fatalf("lookup: %+v %v", req, oerr)
		}

		req2, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth2/device_authorization",
			strings.NewReader(`{"client_id":"`+deviceApp+`","scope":"openid user_read"}`))
		req2.Header.Set("Content-Type", "application/json")
		status, _, js := e.do(req2)
		if status != http.StatusOK || !userCodeFormat.MatchString(js["user_code"].(string)) || js["device_code"] == "" {
			t.Fatalf("JSON body: %d %v", status, js)
		}
		if got, _ := e.core.LookupUserCode(context.Background(), js["user_code"].(string), deviceSource); strings.Join(got.Scopes, " ") != "openid user_read" {
			t.Fatalf("JSON body's scopes: %v", got.Scopes)
		}

		// Codes are drawn anew each time and always of the alphabet.
		seen := map[string]bool{}
		for range 20 {
			uc := e.deviceAuthorize("user_read")["user_code"].(string)
			if !userCodeFormat.MatchString(uc) || seen[uc] {
				t.Fatalf("user code %q (seen: %v)", uc, seen[uc])
			}
			seen[uc] = true
		}
		status, _, bad := e.post("/oauth2/device_authorization", url.Values{"client_id": {deviceApp}, "scope": {"user_write"}}, "", "")
		if status != http.StatusBadRequest || bad["error"] != "invalid_scope" {
			t.Fatalf("scope the client may not have: %d %v", status, bad)
		}
		status, _, bad = e.post("/oauth2/device_authorization", url.Values{}, "", "")
		if status != http.StatusUnauthorized || bad["error"] != "invalid_client" {
			t.Fatalf("no client at all: %d %v", status, bad)
		}
	})
}

// TestNormalizeUserCode: a code as a person may type it.
func TestNormalizeUserCode(t *testing.T) {
	for in, want := range map[string]string{
		"BCDF-GHJK": "BCDF-GHJK", "bcdf-ghjk": "BCDF-GHJK", "bcdfghjk": "BCDF-GHJK", " BcDf Ghjk ": "BCDF-GHJK",
		"ZXWV-TSRQ": "ZXWV-TSRQ",
	} {
		if got, ok := oauth.NormalizeUserCode(in); !ok || got != want {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "BCDA-GHJK", "BCDF-GHJE", "BCDF-GHJ1", "BCDF-GHJ", "BCDF-GHJKL", "BCDF_GHJK", "ÄCDF-GHJK",
		"OOOO-IIII", "BCDF-GHJY", "BCDF-GHJU", strings.Repeat("B", 65)} {
		if got, ok := oauth.NormalizeUserCode(in); ok {
			t.Errorf("NormalizeUserCode(%q) = %q, accepted", in, got)
		}
	}
}

// TestDevicePolling: authorization_pending before the decision; a poll
// within the interval is slow_down and the interval grows by 5 s each
// time; after the approval one poll gets tokens and the next invalid_grant.
func TestDevicePolling(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		body := e.deviceAuthorize("user_read")
		dc, uc := body["device_code"].(string), body["user_code"].(string)
		interval := func() time.Duration {
			d, err := e.store.GetDeviceCode(context.Background(), secrets.TokenID(dc))
			if err != nil {
				t.Fatal(err)
			}
			return d.Interval
		}

		status, b := e.pollDevice(dc)
		wantPollError(t, status, b, "authorization_pending")
		e.clock.Add(time.Second)
		status, b = e.pollDevice(dc)
		wantPollError(t, status, b, "slow_down")
		if !strings.Contains(b["error_description"].(string), "10 seconds") || interval() != 10*time.Second {
			t.Fatalf("after one slow_down: %v, interval %v; want 10 s", b, interval())
		}
		// 5 s later is still within the grown interval: slower again.
		e.clock.Add(5 * time.Second)
		status, b = e.pollDevice(dc)
		wantPollError(t, status, b, "slow_down")
		if !strings.Contains(b["error_description"].(string), "15 seconds") || interval() != 15*time.Second {
			t.Fatalf("after two slow_downs: %v, interval %v; want 15 s", b, interval())
		}
		e.clock.Add(15 * time.Second)
		status, b = e.pollDevice(dc)
		wantPollError(t, status, b, "authorization_pending")
		if interval() != 15*time.Second {
			t.Fatalf("a poll on time changed the interval to %v", interval())
		}

		// A lowercase code without its dash finds the same authorization.
		e.decide(strings.ToLower(strings.ReplaceAll(uc, "-", "")), true, e.clock.Now())
		// Another client cannot redeem it.
		e.clock.Add(15 * time.Second)
		status, _, b = e.post("/oauth2/token", url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {dc}},
			deviceConf, deviceConfSec)
		wantPollError(t, status, b, "invalid_grant")
		e.clock.Add(15 * time.Second)
		status, b = e.pollDevice(dc)
		if status != http.StatusOK || b["access_token"] == nil {
			t.Fatalf("poll after approval: %d %v", status, b)
		}
		// Replay: the code redeems once.
		e.clock.Add(15 * time.Second)
		status, b = e.pollDevice(dc)
		wantPollError(t, status, b, "invalid_grant")
		// And the user code no longer leads anywhere.
		if _, oerr := e.core.LookupUserCode(context.Background(), uc, deviceSource); oerr == nil || oerr.Code != oauth.ErrInvalidUserCode {
			t.Fatalf("user code after redemption: %v", oerr)
		}
		// A device code that was never issued, or is not one at all.
		status, b = e.pollDevice(dc[:len(dc)-2] + "xx")
		wantPollError(t, status, b, "invalid_grant")
		status, b = e.pollDevice("")
		wantPollError(t, status, b, "invalid_request")
	})
}

// TestDeviceDeniedAndExpired: a denial is access_denied; a code left past
// ten minutes is expired_token and can no longer be entered or decided.
func TestDeviceDeniedAndExpired(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		denied := e.deviceAuthorize("user_read")
		e.decide(denied["user_code"].(string), false, time.Time{})
		status, b := e.pollDevice(denied["device_code"].(string))
		wantPollError(t, status, b, "access_denied")
		e.clock.Add(5 * time.Second)
		status, b = e.pollDevice(denied["device_code"].(string))
		wantPollError(t, status, b, "access_denied")

		late := e.deviceAuthorize("user_read")
		dc, uc := late["device_code"].(string), late["user_code"].(string)
		ctx := context.Background()
		req, oerr := e.core.LookupUserCode(ctx, uc, deviceSource) // found while it lives
		if oerr != nil {
			t.Fatal(oerr)
		}
		e.clock.Add(oauth.DeviceCodeTTL - time.Second)
		status, b = e.pollDevice(dc)
		wantPollError(t, status, b, "authorization_pending")
		e.clock.Add(time.Second)
		status, b = e.pollDevice(dc)
		wantPollError(t, status, b, "expired_token")
		if _, oerr := e.core.LookupUserCode(ctx, uc, deviceSource); oerr == nil || oerr.Code != oauth.ErrInvalidUserCode {
			t.Fatalf("expired user code: %v", oerr)
		}
		// A page opened before the expiry cannot approve after it.
		acc, _ := e.store.GetAccount(ctx, staffID)
		owner := storage.ResourceOwner{Type: storage.OwnerMerchant, ID: merchantID}
		if oerr := e.core.DecideDevice(ctx, req, true, acc, owner, e.clock.Now()); oerr == nil || oerr.Code != oauth.ErrInvalidUserCode {
			t.Fatalf("approval after expiry: %v", oerr)
		}
		e.clock.Add(10 * time.Second)
		status, b = e.pollDevice(dc)
		wantPollError(t, status, b, "expired_token")

		// Approved but collected too late: expired as well.
		slow := e.deviceAuthorize("user_read")
		e.decide(slow["user_code"].(string), true, e.clock.Now())
		e.clock.Add(oauth.DeviceCodeTTL)
		status, b = e.pollDevice(slow["device_code"].(string))
		wantPollError(t, status, b, "expired_token")
	})
}

// TestDeviceConcurrentRedemption: pollers of one approved code released
// together get one token between them; the others invalid_grant or
// slow_down.
func TestDeviceConcurrentRedemption(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		for round := range 5 {
			body := e.deviceAuthorize("user_read")
			dc := body["device_code"].(string)
			e.decide(body["user_code"].(string), true, e.clock.Now())
			type result struct {
				status int
				body   map[string]any
			}
			replies := released(4, func() result {
				status, _, b := e.post("/oauth2/token", url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {dc},
					"client_id": {deviceApp}}, "", "")
				return result{status, b}
			})
			var tokens []string
			for _, r := range replies {
				switch {
				case r.status == http.StatusOK:
					tokens = append(tokens, r.body["access_token"].(string))
				case r.status == http.StatusBadRequest && (r.body["error"] == "invalid_grant" || r.body["error"] == "slow_down"):
				default:
					t.Fatalf("round %d: concurrent poll answered %d %v", round, r.status, r.body)
				}
			}
			if len(tokens) != 1 {
				t.Fatalf("round %d: %d of 4 concurrent polls got a token, want exactly 1: %v", round, len(tokens), replies)
			}
			if !e.active(tokens[0]) {
				t.Fatalf("round %d: the one token issued is not active", round)
			}
		}
	})
}

// TestDeviceAuthorizationClients: a confidential client must authenticate;
// a client without the grant is refused, here and at the token endpoint.
func TestDeviceAuthorizationClients(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		path := "/oauth2/device_authorization"
		form := url.Values{"client_id": {deviceConf}}
		for _, c := range []struct {
			name       string
			form       url.Values
			user, pass string
		}{
			{"no secret", form, "", ""},
			{"wrong secret, Basic", url.Values{}, deviceConf, "wrong"},
			{"wrong secret, form", url.Values{"client_id": {deviceConf}, "client_secret": {"wrong"}}, "", ""},
			{"unknown client", url.Values{"client_id": {"nobody"}}, "", ""},
		} {
			status, _, b := e.post(path, c.form, c.user, c.pass)
			if status != http.StatusUnauthorized || b["error"] != "invalid_client" {
				t.Fatalf("%s: %d %v, want 401 invalid_client", c.name, status, b)
			}
		}
		status, _, b := e.post(path, url.Values{}, deviceConf, deviceConfSec)
		if status != http.StatusOK || !userCodeFormat.MatchString(b["user_code"].(string)) {
			t.Fatalf("confidential client with its secret: %d %v", status, b)
		}
		// Its code is redeemed with its secret, not without.
		dc := b["device_code"].(string)
		e.decide(b["user_code"].(string), true, e.clock.Now())
		status, _, nb := e.post("/oauth2/token", url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {dc},
			"client_id": {deviceConf}}, "", "")
		if status != http.StatusUnauthorized || nb["error"] != "invalid_client" {
			t.Fatalf("confidential poll without its secret: %d %v", status, nb)
		}
		status, _, ok := e.post("/oauth2/token", url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {dc}}, deviceConf, deviceConfSec)
		if status != http.StatusOK || !e.active(ok["access_token"].(string)) {
			t.Fatalf("confidential poll: %d %v", status, ok)
		}

		for _, c := range []struct {
			form       url.Values
			user, pass string
		}{{url.Values{}, guestApp, guestSec}, {url.Values{"client_id": {publicApp}}, "", ""}} {
			status, _, b := e.post(path, c.form, c.user, c.pass)
			if status != http.StatusBadRequest || b["error"] != "unauthorized_client" {
				t.Fatalf("client without the grant: %d %v, want 400 unauthorized_client", status, b)
			}
		}
		status, _, b = e.post("/oauth2/token", url.Values{"grant_type": {oauth.GrantDeviceCode}, "device_code": {dc}}, guestApp, guestSec)
		if status != http.StatusBadRequest || b["error"] != "unauthorized_client" {
			t.Fatalf("token endpoint, client without the grant: %d %v", status, b)
		}
	})
}

// TestUserCodeGuessing: ten wrong codes from one source are answered as
// wrong, the eleventh 429 with Retry-After, and then even the right code
// from that source; another source still finds it.
func TestUserCodeGuessing(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		ctx := context.Background()
		uc := e.deviceAuthorize("user_read")["user_code"].(string)
		wrong := "BBBB-BBBB"
		if wrong == uc {
			wrong = "CCCC-CCCC"
		}
		for i := range 10 {
			_, oerr := e.core.LookupUserCode(ctx, wrong, deviceSource)
			if oerr == nil || oerr.Status != http.StatusBadRequest || oerr.Code != oauth.ErrInvalidUserCode {
				t.Fatalf("wrong code %d: %v, want 400 %s", i+1, oerr, oauth.ErrInvalidUserCode)
			}
		}
		_, oerr := e.core.LookupUserCode(ctx, wrong, deviceSource)
		if oerr == nil || oerr.Status != http.StatusTooManyRequests || oerr.RetryAfter <= 0 {
			t.Fatalf("eleventh wrong code: %+v, want 429 with RetryAfter", oerr)
		}
		if _, oerr := e.core.LookupUserCode(ctx, uc, deviceSource); oerr == nil || oerr.Status != http.StatusTooManyRequests {
			t.Fatalf("the right code from the throttled source: %+v, want 429", oerr)
		}
		// Malformed input counts too, from a fresh source.
		for range 10 {
			e.core.LookupUserCode(ctx, "not a code", "192.0.2.99")
		}
		if _, oerr := e.core.LookupUserCode(ctx, uc, "192.0.2.99"); oerr == nil || oerr.Status != http.StatusTooManyRequests {
			t.Fatalf("after ten malformed codes: %+v, want 429", oerr)
		}
		if req, oerr := e.core.LookupUserCode(ctx, uc, "198.51.100.7"); oerr != nil || req.UserCode != uc {
			t.Fatalf("the right code from another source: %+v %v", req, oerr)
		}
	})
}

// TestDeviceIDToken: with openid granted the device grant returns an ID
// token whose auth_time is the approval's sign-in.
func TestDeviceIDToken(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		deviceClients(t, e)
		body := e.deviceAuthorize("openid user_read")
		authTime := e.clock.Now().Add(-3 * time.Minute).Truncate(time.Second)
		e.decide(body["user_code"].(string), true, authTime)
		status, b := e.pollDevice(body["device_code"].(string))
		raw, _ := b["id_token"].(string)
		if status != http.StatusOK || raw == "" {
			t.Fatalf("device token with openid: %d %v", status, b)
		}
		tok, err := verifier(t, e, deviceApp).Verify(clientCtx(e), raw)
		if err != nil {
			t.Fatalf("go-oidc refused the ID token: %v", err)
		}
		var cl idTokenClaims
		if err := tok.Claims(&cl); err != nil {
			t.Fatal(err)
		}
		if tok.Subject != staffID || cl.AuthTime != authTime.Unix() || cl.Nonce != "" {
			t.Fatalf("ID token: sub %q, claims %+v; want auth_time %d", tok.Subject, cl, authTime.Unix())
		}
		if err := tok.VerifyAccessToken(b["access_token"].(string)); err != nil {
			t.Fatalf("at_hash: %v", err)
		}

		// Without openid there is none.
		body = e.deviceAuthorize("user_read")
		e.decide(body["user_code"].(string), true, authTime)
		status, b = e.pollDevice(body["device_code"].(string))
		if status != http.StatusOK || b["id_token"] != nil {
			t.Fatalf("device token without openid: %d %v", status, b)
		}
	})
}
