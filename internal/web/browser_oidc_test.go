package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// TestBrowserSelectAccountOneChoice: prompt=select_account shows the
// picker even to a staff member with a single business for the client
// (acmejewellers, client bound to merchant 123456), after the login and
// again, without a login, on a second authorization in the same browser.
// The final code's ID token names the account.
func TestBrowserSelectAccountOneChoice(t *testing.T) {
	const client, secret = "acme-portal", "acme-portal-secret"
	s := newSite(t)
	keys, err := secrets.NewKeys([]byte(strings.Repeat("d", 32))) // the demo server's system secret
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.CreateClient(context.Background(), storage.Client{ID: client, Name: "ACME Portal",
		SecretHash: keys.HashClientSecret(secret), GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid", "profile"}, RedirectURIs: []string{s.callback}, AccessTokenTTL: time.Hour,
		MerchantID: "123456", AccountKind: storage.Staff}); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	start := func(nonce string) string {
		return s.authorizeURL(client, url.Values{"scope": {"openid profile"}, "prompt": {"select_account"}, "nonce": {nonce}})
	}
	// formID is the id of the page's first form: the page Navigate just loaded, no waiting.
	formID := func() string {
		var id string
		run(t, ctx, chromedp.Evaluate(`(document.querySelector('form') || {id: ''}).id`, &id))
		return id
	}
	picker := func(round string) {
		t.Helper()
		var radios []string
		var label string
		run(t, ctx, chromedp.Evaluate(`[...document.querySelectorAll('form#select-account input[name=resource_owner]')].map(e => e.value)`, &radios),
			chromedp.Text(`form#select-account label.choice`, &label, chromedp.ByQuery))
		if strings.Join(radios, ",") != "123456" || !strings.Contains(label, "ACME Jewellers") {
			t.Fatalf("%s: picker offers %v (%q), want the one business", round, radios, label)
		}
	}

	run(t, ctx, chromedp.Navigate(start("n-1")))
	if id := formID(); id != "login" {
		t.Fatalf("first authorization: form %q, want the login page", id)
	}
	// Whatever page follows the login, the picker or not, is waited for; then it must be the picker.
	run(t, ctx, login("acmejewellers", "dice-vanila-purse"),
		chromedp.WaitVisible(`form#select-account, form#consent, #login-error, #done`, chromedp.ByQuery))
	if id := formID(); id != "select-account" {
		t.Fatalf("after the login with prompt=select_account: form %q, want the picker", id)
	}
	picker("after the login")
	run(t, ctx, chromedp.Click(`form#select-account button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery),
		chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery))
	if q := oidcCallback(t, s); q.Get("code") == "" || q.Get("state") != "st-42" || q.Get("iss") != s.base {
		t.Fatalf("first callback %v", q)
	}
	run(t, ctx, chromedp.WaitVisible(`#done`, chromedp.ByQuery)) // the callback page has loaded: nothing left to abort

	// Signed in, consent remembered: the picker again, and no login page.
	run(t, ctx, chromedp.Navigate(start("n-2")))
	if id := formID(); id != "select-account" {
		t.Fatalf("second authorization with prompt=select_account: form %q, want the picker without a login", id)
	}
	picker("second authorization")
	run(t, ctx, chromedp.Click(`form#select-account button[type=submit]`, chromedp.ByQuery))
	q := oidcCallback(t, s)
	if q.Get("code") == "" || q.Get("state") != "st-42" {
		t.Fatalf("second callback %v", q)
	}
	idToken, _ := oidcExchange(t, s.base, client, secret, s.callback, q.Get("code"))
	if c := idClaims(t, idToken); c.Subject != "acc_demo_acmejewellers" || c.Audience != client || c.Nonce != "n-2" ||
		c.MerchantID != "123456" || c.Issuer != s.base {
		t.Errorf("ID token claims %+v, want acmejewellers for merchant 123456", c)
	}
}

// oidcCallback waits for the client's redirect URI to be called with a
// state, skipping the browser's other requests to the callback's host
// (Chromium asks it for /favicon.ico once the page has loaded).
func oidcCallback(t *testing.T, s *site) url.Values {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case q := <-s.got:
			if q.Has("state") {
				return q
			}
		case <-deadline:
			t.Fatal("the client's redirect URI was never called")
			return nil
		}
	}
}
