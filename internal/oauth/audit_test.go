package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// auditEvents returns every stored audit event, and all of them as JSON.
func (e *env) auditEvents() ([]storage.AuditEvent, string) {
	e.t.Helper()
	var all []storage.AuditEvent
	f := storage.AuditFilter{Limit: storage.MaxAuditLimit}
	for {
		evs, err := e.store.ListAuditEvents(context.Background(), f)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, evs...)
		if len(evs) < f.Limit {
			break
		}
		f.After = evs[len(evs)-1].ID
	}
	b, err := json.Marshal(all)
	if err != nil {
		e.t.Fatal(err)
	}
	return all, string(b)
}

// find returns the events of type typ that match.
func find(evs []storage.AuditEvent, typ string, match func(storage.AuditEvent) bool) []storage.AuditEvent {
	var out []storage.AuditEvent
	for _, ev := range evs {
		if ev.Type == typ && (match == nil || match(ev)) {
			out = append(out, ev)
		}
	}
	return out
}

// TestAuditEventsHoldNoSecrets runs what the issue lists as security
// events and administrative changes, then checks that each left its event
// and that no secret, token, password or typed username is in any of them.
func TestAuditEventsHoldNoSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		const wrongPass, typedUser = "Wr0ng-passw0rd-7f3a", "not-a-user-9c1e"
		password := func(client, secret, user, pass string) (int, map[string]any) {
			status, _, m := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}},
				client, secret)
			return status, m
		}
		if status, m := password(guestApp, guestSec, guestUser, wrongPass); status != http.StatusBadRequest {
			t.Fatalf("wrong password: %d %v", status, m)
		}
		if status, m := password(guestApp, guestSec, typedUser, wrongPass); status != http.StatusBadRequest {
			t.Fatalf("unknown user: %d %v", status, m)
		}
		access, refresh := e.login(guestApp, guestSec)

		// A rotated refresh token presented again revokes its family.
		_, old := e.login(nograceApp, nograSec)
		first := e.refresh(nograceApp, nograSec, old)
		if first.status != http.StatusOK {
			t.Fatalf("refresh: %d %v", first.status, first.body)
		}
		if again := e.refresh(nograceApp, nograSec, old); again.status != http.StatusBadRequest {
			t.Fatalf("reused refresh token: %d %v", again.status, again.body)
		}

		// An authorization code redeemed twice.
		code := e.code(guestApp, "", "")
		redeem := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
		status, _, codeTokens := e.post("/oauth2/token", redeem, guestApp, guestSec)
		if status != http.StatusOK {
			t.Fatalf("redeem code: %d %v", status, codeTokens)
		}
		if status, _, m := e.post("/oauth2/token", redeem, guestApp, guestSec); status != http.StatusBadRequest {
			t.Fatalf("replayed code: %d %v", status, m)
		}

		if status, _, m := e.post("/oauth2/revoke", url.Values{"token": {refresh}}, guestApp, guestSec); status != http.StatusOK {
			t.Fatalf("revoke: %d %v", status, m)
		}
		status, _, cc := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, confID, confSecret)
		if status != http.StatusOK {
			t.Fatalf("client_credentials: %d %v", status, cc)
		}

		// The device grant: a staff member approves for the merchant; the
		// device's poll gets tokens.
		deviceClients(t, e)
		da := e.deviceAuthorize("user_read")
		deviceCode, userCode := da["device_code"].(string), da["user_code"].(string)
		e.decide(userCode, true, e.clock.Now())
		status, dev := e.pollDevice(deviceCode)
		if status != http.StatusOK || dev["access_token"] == nil || dev["refresh_token"] == nil {
			t.Fatalf("device_code: %d %v", status, dev)
		}

		ctx := context.Background()
		client, err := e.store.GetClient(ctx, guestApp)
		if err != nil {
			t.Fatal(err)
		}
		account, err := e.store.GetAccount(ctx, "acc-john")
		if err != nil {
			t.Fatal(err)
		}
		owner := storage.ResourceOwner{Type: storage.OwnerMerchant, ID: merchantID}
		if err := e.core.RememberConsent(ctx, oauth.AuthorizeRequest{Client: client, Scopes: []string{"user_read"}}, account, owner); err != nil {
			t.Fatal(err)
		}

		// Administrative changes, as an admin API client would make them.
		dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: e.store, Keys: e.keys, Argon2: fastArgon2})
		if err != nil {
			t.Fatal(err)
		}
		actx := oauth.WithActor(ctx, "client:admin-app")
		if n, err := dir.WithdrawConsent(actx, "acc-john", guestApp); err != nil || n != 1 {
			t.Fatalf("withdraw consent: %d, %v; want 1", n, err)
		}
		if _, err := dir.WithdrawConsent(actx, "acc-john", guestApp); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("withdraw a withdrawn consent: %v; want not found", err)
		}
		created, secret, err := dir.CreateClient(actx, storage.Client{ID: "new-app", Name: "New app", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"user_read"}, MerchantID: merchantID}, oauth.ClientChoices{})
		if err != nil {
			t.Fatal(err)
		}
		_, rotated, err := dir.RotateClientSecret(actx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		const newPassword = "N3w-pa55word-for-john"
		if err := dir.SetPassword(actx, "acc-john", newPassword); err != nil {
			t.Fatal(err)
		}
		if err := dir.SetDisabled(actx, "acc-john", true); err != nil {
			t.Fatal(err)
		}
		if err := dir.DeleteClient(actx, created.ID); err != nil {
			t.Fatal(err)
		}

		evs, all := e.auditEvents()
		for what, s := range map[string]string{"wrong password": wrongPass, "right password": guestPass, "typed username": typedUser,
			"guest username": guestUser, "access token": access, "refresh token": refresh, "rotated refresh token": old,
			"refreshed access token": first.body["access_token"].(string), "code": code,
			"code's access token": codeTokens["access_token"].(string), "client secret": guestSec,
			"client_credentials token": cc["access_token"].(string), "code's refresh token": codeTokens["refresh_token"].(string), "other client secret": nograSec,
			"new client secret": secret, "rotated client secret": rotated, "set password": newPassword,
			"device code": deviceCode, "user code": userCode, "device's access token": dev["access_token"].(string),
			"device's refresh token": dev["refresh_token"].(string)} {
			if strings.Contains(all, s) {
				t.Errorf("the audit events hold the %s %q:\n%s", what, s, all)
			}
		}

		john := "account:acc-john"
		checks := []struct {
			typ   string
			match func(storage.AuditEvent) bool
		}{
			{oauth.AuditLoginFailed, func(ev storage.AuditEvent) bool {
				return ev.Subject == john && ev.Detail["reason"] == "wrong_password" && ev.ClientID == guestApp && ev.MerchantID == merchantID
			}},
			{oauth.AuditLoginFailed, func(ev storage.AuditEvent) bool {
				return ev.Subject == "" && ev.Detail["reason"] == "unknown_account"
			}},
			{oauth.AuditLoginSucceeded, func(ev storage.AuditEvent) bool { return ev.Subject == john && ev.ClientID == guestApp }},
			{oauth.AuditRefreshReused, func(ev storage.AuditEvent) bool { return ev.Subject == john && ev.ClientID == nograceApp }},
			{oauth.AuditCodeReplayed, func(ev storage.AuditEvent) bool { return ev.Subject == john && ev.ClientID == guestApp }},
			{oauth.AuditTokenRevoked, func(ev storage.AuditEvent) bool {
				return ev.Subject == john && ev.Actor == "client:"+guestApp && ev.Detail["kind"] == "refresh_token"
			}},
			{oauth.AuditConsentGiven, func(ev storage.AuditEvent) bool {
				return ev.Subject == john && ev.ClientID == guestApp && ev.Detail["scope"] == "user_read"
			}},
			{oauth.AuditConsentWithdrawn, func(ev storage.AuditEvent) bool {
				return ev.Subject == john && ev.ClientID == guestApp && ev.Actor == "client:admin-app" && ev.Detail["scope"] == "user_read"
			}},
			// One token.issued per grant, stored with its tokens.
			{oauth.AuditTokenIssued, func(ev storage.AuditEvent) bool {
				return ev.Detail["grant_type"] == "client_credentials" && ev.ClientID == confID && ev.Subject == "" && ev.RequestID != ""
			}},
			{oauth.AuditTokenIssued, func(ev storage.AuditEvent) bool {
				return ev.Detail["grant_type"] == "authorization_code" && ev.Subject == john && ev.ClientID == guestApp &&
					ev.MerchantID == merchantID && ev.Detail["refresh_token"] == "true" && ev.Detail["family"] != ""
			}},
			{oauth.AuditTokenIssued, func(ev storage.AuditEvent) bool {
				return ev.Detail["grant_type"] == "refresh_token" && ev.ClientID == nograceApp && ev.Subject == john
			}},
			// The password grant's: guestApp logged in once (its two failures issued nothing).
			{oauth.AuditTokenIssued, func(ev storage.AuditEvent) bool {
				return ev.Detail["grant_type"] == "password" && ev.ClientID == guestApp && ev.Subject == john &&
					ev.MerchantID == merchantID && ev.Detail["owner"] == "guest:acc-john" && ev.Detail["refresh_token"] == "true" &&
					ev.Detail["family"] != "" && ev.RequestID != ""
			}},
			// The device_code grant's, for the staff member who approved, acting for the merchant.
			{oauth.AuditTokenIssued, func(ev storage.AuditEvent) bool {
				return ev.Detail["grant_type"] == oauth.GrantDeviceCode && ev.ClientID == deviceApp && ev.Subject == "account:"+staffID &&
					ev.MerchantID == merchantID && ev.Detail["owner"] == "merchant:"+merchantID && ev.Detail["scope"] == "user_read" &&
					ev.Detail["refresh_token"] == "true" && ev.RequestID != ""
			}},
			{oauth.AuditClientCreated, func(ev storage.AuditEvent) bool {
				return ev.Actor == "client:admin-app" && ev.Subject == "client:new-app" && ev.MerchantID == merchantID
			}},
			{oauth.AuditClientSecretRotated, func(ev storage.AuditEvent) bool { return ev.Actor == "client:admin-app" }},
			{oauth.AuditAccountPasswordSet, func(ev storage.AuditEvent) bool { return ev.Subject == john && ev.MerchantID == merchantID }},
			{oauth.AuditAccountDisabled, func(ev storage.AuditEvent) bool { return ev.Subject == john }},
			{oauth.AuditClientDeleted, func(ev storage.AuditEvent) bool { return ev.MerchantID == merchantID }},
		}
		for _, c := range checks {
			if got := find(evs, c.typ, c.match); len(got) != 1 {
				t.Errorf("%d matching %s events, want 1; all events:\n%s", len(got), c.typ, all)
			}
		}
		// Events of HTTP requests carry the request's id; ids sort as they were made.
		for i, ev := range evs {
			if ev.ID == "" || ev.Time.IsZero() || (i > 0 && ev.ID <= evs[i-1].ID) {
				t.Fatalf("event %d has no id or time, or is out of order: %+v", i, ev)
			}
			if strings.HasPrefix(ev.Type, "login.") && ev.RequestID == "" {
				t.Errorf("login event without request id: %+v", ev)
			}
		}
	})
}

// TestThrottleTrippedAuditedOnce: a throttled source gets 429 again and
// again, but its event is written once, not per refused request.
func TestThrottleTrippedAuditedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, oauth.Config{Throttle: oauth.Throttle{PerAccountSource: 1, Delay: time.Hour, MaxDelay: time.Hour, Window: 2 * time.Hour}})
		form := url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {"wrong-one"}}
		if status, _, m := e.post("/oauth2/token", form, guestApp, guestSec); status != http.StatusBadRequest {
			t.Fatalf("first failure: %d %v", status, m)
		}
		for range 3 {
			if status, _, m := e.post("/oauth2/token", form, guestApp, guestSec); status != http.StatusTooManyRequests {
				t.Fatalf("throttled failure: %d %v", status, m)
			}
		}
		evs, all := e.auditEvents()
		tripped := find(evs, oauth.AuditThrottleTripped, nil)
		if len(tripped) != 1 || tripped[0].ClientID != guestApp || tripped[0].Detail["check"] != "login" ||
			tripped[0].Detail["retry_after_seconds"] == "" {
			t.Fatalf("want one throttle.tripped event of the login check; events:\n%s", all)
		}
		if got := find(evs, oauth.AuditLoginFailed, nil); len(got) != 1 {
			t.Fatalf("%d login.failed events, want 1 (throttled guesses are not checked); events:\n%s", len(got), all)
		}
	})
}

// TestThrottleTrippedAuditedForClientSecret: wrong client secrets past
// the budget trip the client_secret check; its one event names the client,
// its merchant and the source, never a secret tried or the right one.
func TestThrottleTrippedAuditedForClientSecret(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, oauth.Config{Throttle: oauth.Throttle{PerClientSource: 1, Delay: time.Hour, MaxDelay: time.Hour, Window: 2 * time.Hour}})
		base := behindProxy(t, e.srv.Config.Handler)
		const guess = "gu3ss-0f-a-s3cret-5d2b"
		if r := from(base, attacker, "/oauth2/token", ccGrant, guestApp, guess); r.status != http.StatusUnauthorized {
			t.Fatalf("first wrong secret: %+v", r)
		}
		for range 3 {
			if r := from(base, attacker, "/oauth2/token", ccGrant, guestApp, guess); r.status != http.StatusTooManyRequests {
				t.Fatalf("throttled wrong secret: %+v", r)
			}
		}
		if r := from(base, attacker, "/oauth2/token", ccGrant, guestApp, guestSec); r.status != http.StatusTooManyRequests {
			t.Fatalf("the right secret from the throttled source: %+v", r)
		}
		evs, all := e.auditEvents()
		tripped := find(evs, oauth.AuditThrottleTripped, nil)
		if len(tripped) != 1 {
			t.Fatalf("%d throttle.tripped events, want 1; events:\n%s", len(tripped), all)
		}
		if ev := tripped[0]; ev.Detail["check"] != "client_secret" || ev.ClientID != guestApp || ev.MerchantID != merchantID ||
			ev.Source != attacker || ev.Subject != "" || ev.Detail["retry_after_seconds"] == "" || ev.RequestID == "" {
			t.Fatalf("throttle.tripped of the client_secret check: %+v", ev)
		}
		for what, s := range map[string]string{"guessed secret": guess, "client secret": guestSec} {
			if strings.Contains(all, s) {
				t.Errorf("the audit events hold the %s %q:\n%s", what, s, all)
			}
		}
	})
}

// TestThrottleTrippedAuditedForUserCode: wrong user codes past the budget
// trip the user_code check; its one event names the source where the codes
// were typed, and neither the codes tried nor the right one.
func TestThrottleTrippedAuditedForUserCode(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, oauth.Config{Throttle: oauth.Throttle{PerAccountSource: 1, Delay: time.Hour, MaxDelay: time.Hour, Window: 2 * time.Hour}})
		deviceClients(t, e)
		ctx := context.Background()
		right := e.deviceAuthorize("user_read")["user_code"].(string)
		wrong := "BBBB-BBBB"
		if wrong == right {
			wrong = "CCCC-CCCC"
		}
		if _, oerr := e.core.LookupUserCode(ctx, wrong, deviceSource); oerr == nil || oerr.Status != http.StatusBadRequest {
			t.Fatalf("first wrong code: %+v, want 400", oerr)
		}
		for range 3 {
			if _, oerr := e.core.LookupUserCode(ctx, wrong, deviceSource); oerr == nil || oerr.Status != http.StatusTooManyRequests {
				t.Fatalf("throttled wrong code: %+v, want 429", oerr)
			}
		}
		if _, oerr := e.core.LookupUserCode(ctx, right, deviceSource); oerr == nil || oerr.Status != http.StatusTooManyRequests {
			t.Fatalf("the right code from the throttled source: %+v, want 429", oerr)
		}
		evs, all := e.auditEvents()
		tripped := find(evs, oauth.AuditThrottleTripped, nil)
		if len(tripped) != 1 {
			t.Fatalf("%d throttle.tripped events, want 1; events:\n%s", len(tripped), all)
		}
		if ev := tripped[0]; ev.Detail["check"] != "user_code" || ev.Source != deviceSource || ev.ClientID != "" || ev.Subject != "" ||
			ev.Detail["retry_after_seconds"] == "" {
			t.Fatalf("throttle.tripped of the user_code check: %+v", ev)
		}
		for what, s := range map[string]string{"wrong user code": wrong, "right user code": right} {
			if strings.Contains(all, s) {
				t.Errorf("the audit events hold the %s %q:\n%s", what, s, all)
			}
		}
	})
}

// failingAudit is a store whose audit log is down.
type failingAudit struct{ storage.Storage }

func (failingAudit) AppendAuditEvents(context.Context, ...storage.AuditEvent) error {
	return context.DeadlineExceeded
}

// TestAuditFailureDoesNotFailRequests: a login and an admin change succeed
// though their events cannot be stored.
func TestAuditFailureDoesNotFailRequests(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, failingAudit{st}, oauth.Config{})
		e.login(guestApp, guestSec)
		dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: failingAudit{st}, Keys: e.keys, Argon2: fastArgon2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dir.CreateMerchant(context.Background(), storage.Merchant{ID: "888888", Name: "Other"}); err != nil {
			t.Fatalf("create merchant with the audit log down: %v", err)
		}
		// token.issued is not appended to the log: it is written with the
		// tokens, in their transaction.
		evs, _ := e.auditEvents()
		if got := len(evs) - len(find(evs, oauth.AuditTokenIssued, nil)); got != 0 {
			t.Fatalf("events stored through a failing log: %+v", evs)
		}
	})
}

// TestNoTokenIssuedEvents: the option leaves issues without their event.
func TestNoTokenIssuedEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, oauth.Config{NoTokenIssuedEvents: true})
		e.login(guestApp, guestSec)
		evs, all := e.auditEvents()
		if len(find(evs, oauth.AuditLoginSucceeded, nil)) != 1 || len(find(evs, oauth.AuditTokenIssued, nil)) != 0 {
			t.Fatalf("want the login's event and no token.issued; events:\n%s", all)
		}
	})
}
