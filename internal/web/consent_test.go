package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// signIn runs the guest flow for guest-web up to the consent page and
// returns that page's form, ready to be posted.
func signIn(t *testing.T, s *site, a *webtest.Agent, start string) url.Values {
	t.Helper()
	status, _, body := a.Get(start)
	if status != http.StatusOK || !strings.Contains(body, `<form id="login"`) {
		t.Fatalf("login page: %d", status)
	}
	_, form := webtest.Form(body)
	form.Set("action", "login")
	form.Set("username", "johndoe")
	form.Set("password", "open456")
	status, _, body = a.Post(s.base+"/oauth2/authorize", form)
	if status != http.StatusOK || !strings.Contains(body, `<form id="consent"`) {
		t.Fatalf("after login: %d %s", status, body)
	}
	_, consent := webtest.Form(body)
	consent.Set("action", "consent")
	consent.Set("decision", "allow")
	return consent
}

// TestConsentGrantsWhatWasShown: a consent form whose hidden scope field
// was widened after the page showed it is refused with a page saying so;
// nothing is granted or remembered. The form as shown still works.
func TestConsentGrantsWhatWasShown(t *testing.T) {
	s := newSite(t)
	a := webtest.NewAgent(t)
	start := s.base + "/oauth2/authorize?client_id=guest-web&response_type=code&state=s3&scope=user_read"
	consent := signIn(t, s, a, start)
	if consent.Get("scope") != "user_read" {
		t.Fatalf("the consent form carries scope %q", consent.Get("scope"))
	}
	for name, edit := range map[string]func(url.Values){
		"widened scope": func(v url.Values) { v.Set("scope", "user_read account_read") },
		"other scope":   func(v url.Values) { v.Set("scope", "account_read") },
		"no signature":  func(v url.Values) { v.Del("consent_sig") },
	} {
		forged := url.Values{}
		for k, v := range consent {
			forged[k] = v
		}
		edit(forged)
		status, h, body := a.Post(s.base+"/oauth2/authorize", forged)
		if status != http.StatusBadRequest || h.Get("Location") != "" || !strings.Contains(body, "consent form was changed") {
			t.Errorf("%s: status %d, Location %q; want a 400 page saying the form was changed", name, status, h.Get("Location"))
		}
	}
	// Nothing was remembered for the wider scope.
	status, h, _ := a.Get(strings.Replace(start, "scope=user_read", "scope=user_read%20account_read", 1) + "&prompt=none")
	if loc, _ := url.Parse(h.Get("Location")); status != http.StatusSeeOther || loc.Query().Get("error") != "consent_required" {
		t.Fatalf("wider scope after refused forms: %d %q, want consent_required", status, h.Get("Location"))
	}
	status, h, _ = a.Post(s.base+"/oauth2/authorize", consent)
	if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "code=") {
		t.Fatalf("the form as shown: %d %q", status, h.Get("Location"))
	}
}

// TestPasswordChangeEndsSessions: after a password change the browser's
// session no longer signs it in.
func TestPasswordChangeEndsSessions(t *testing.T) {
	s := newSite(t)
	a := webtest.NewAgent(t)
	start := s.base + "/oauth2/authorize?client_id=guest-web&response_type=code&state=s4&scope=user_read"
	if status, h, _ := a.Post(s.base+"/oauth2/authorize", signIn(t, s, a, start)); status != http.StatusSeeOther ||
		!strings.Contains(h.Get("Location"), "code=") {
		t.Fatalf("allow: %d %q", status, h.Get("Location"))
	}
	if status, h, _ := a.Get(start + "&prompt=none"); status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "code=") {
		t.Fatalf("prompt=none while signed in: %d %q", status, h.Get("Location"))
	}
	keys, err := secrets.NewKeys([]byte(strings.Repeat("d", 32)))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: s.store, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.SetPassword(t.Context(), "acc_demo_johndoe", "a-brand-new-password"); err != nil {
		t.Fatal(err)
	}
	status, h, _ := a.Get(start + "&prompt=none")
	if loc, _ := url.Parse(h.Get("Location")); status != http.StatusSeeOther || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none after a password change: %d %q, want login_required", status, h.Get("Location"))
	}
}

// TestBrowserConsentFormChanged: in Chromium, the scope hidden field is
// widened on the consent page before Allow is clicked; the person sees a
// page saying the form was changed, in their language, and the app gets nothing.
func TestBrowserConsentFormChanged(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	var title, msg string
	run(t, ctx, chromedp.Navigate(s.authorizeURL("guest-web", url.Values{"scope": {"user_read"}, "ui_locales": {"fr"}})),
		login("johndoe", "open456"),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery),
		chromedp.SetAttributeValue(`form#consent input[name=scope]`, "value", "user_read account_read", chromedp.ByQuery),
		chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.error`, chromedp.ByQuery),
		chromedp.Text(`h1#title`, &title, chromedp.ByQuery),
		chromedp.Text(`p.error`, &msg, chromedp.ByQuery))
	if title != "Un problème est survenu" || !strings.Contains(msg, "modifié après son affichage") {
		t.Fatalf("page after a changed consent form: %q / %q", title, msg)
	}
	select {
	case q := <-s.got:
		t.Fatalf("the app was called with %v", q)
	default:
	}
}
