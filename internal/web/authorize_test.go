package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

func TestAuthorizeErrorsNeverRedirectToUntrustedURIs(t *testing.T) {
	s := newSite(t)
	a := webtest.NewAgent(t)
	cb, _ := url.Parse(s.callback)
	upper := strings.Replace(s.callback, "/callback", "/CALLBACK", 1)
	userinfo := cb.Scheme + "://evil@" + cb.Host + cb.Path
	for name, q := range map[string]string{
		"unknown client":    "client_id=ghost&response_type=code",
		"missing client_id": "response_type=code",
		"extra path":        "client_id=guest-web&response_type=code&redirect_uri=" + url.QueryEscape(s.callback+"/x"),
		"extra query":       "client_id=guest-web&response_type=code&redirect_uri=" + url.QueryEscape(s.callback+"?next=evil"),
		"different case":    "client_id=guest-web&response_type=code&redirect_uri=" + url.QueryEscape(upper),
		"userinfo":          "client_id=guest-web&response_type=code&redirect_uri=" + url.QueryEscape(userinfo),
		"trailing slash":    "client_id=guest-web&response_type=code&redirect_uri=" + url.QueryEscape(s.callback+"/"),
		"fragment":          "client_id=guest-web&response_type=code&redirect_uri=" + url.QueryEscape(s.callback+"#x"),
		"other host":        "client_id=guest-web&response_type=code&redirect_uri=" + url.QueryEscape("https://evil.example/callback"),
		"duplicate param":   "client_id=guest-web&client_id=demo-spa&response_type=code",
	} {
		status, h, body := a.Get(s.base + "/oauth2/authorize?" + q)
		if status != http.StatusBadRequest || h.Get("Location") != "" || !strings.Contains(body, "<h1") {
			t.Errorf("%s: status %d, Location %q: want a 400 page", name, status, h.Get("Location"))
		}
		if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: page without anti-framing headers", name)
		}
	}
}

func TestAuthorizeErrorsRedirectBack(t *testing.T) {
	s := newSite(t)
	a := webtest.NewAgent(t)
	base := "client_id=demo-spa&redirect_uri=" + url.QueryEscape(demoCallback) + "&state=s1"
	pk := "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
	for _, tc := range []struct{ query, err string }{
		{base + "&response_type=token" + pk, "unsupported_response_type"},
		{base + pk, "invalid_request"}, // response_type missing
		{base + "&response_type=code&scope=admin" + pk, "invalid_scope"},
		{base + "&response_type=code", "invalid_request"}, // public client without PKCE
		{base + "&response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain", "invalid_request"},
		{base + "&response_type=code&prompt=bogus" + pk, "invalid_request"},
		{base + "&response_type=code&prompt=none" + pk, "login_required"},
	} {
		status, h, _ := a.Get(s.base + "/oauth2/authorize?" + tc.query)
		loc, err := url.Parse(h.Get("Location"))
		if status != http.StatusSeeOther || err != nil || !strings.HasPrefix(h.Get("Location"), demoCallback+"?") {
			t.Errorf("%s: status %d Location %q", tc.query, status, h.Get("Location"))
			continue
		}
		q := loc.Query()
		if q.Get("error") != tc.err || q.Get("state") != "s1" || q.Get("iss") != s.base || q.Get("error_description") == "" {
			t.Errorf("%s: redirect query %v, want error %s", tc.query, q, tc.err)
		}
	}
}

// TestAuthorizeOverHTTP drives the guest flow with plain HTTP: CSRF is
// enforced, then login, consent, and prompt=none once consent is remembered.
func TestAuthorizeOverHTTP(t *testing.T) {
	s := newSite(t)
	a := webtest.NewAgent(t)
	start := s.base + "/oauth2/authorize?client_id=guest-web&response_type=code&state=s2&scope=user_read" // the only redirect URI is implied
	status, _, body := a.Get(start)
	if status != http.StatusOK || !strings.Contains(body, `<form id="login"`) || !strings.Contains(body, "Demo Loyalty") {
		t.Fatalf("login page: %d", status)
	}
	_, form := webtest.Form(body)
	form.Set("action", "login")
	form.Set("username", "johndoe")
	form.Set("password", "open456")
	forged := url.Values{}
	for k, v := range form {
		forged[k] = v
	}
	forged.Set("csrf_token", "forged")
	if status, _, body := a.Post(s.base+"/oauth2/authorize", forged); status != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Fatalf("forged CSRF token: %d", status)
	}
	status, _, body = a.Post(s.base+"/oauth2/authorize", form)
	if status != http.StatusOK || !strings.Contains(body, `<form id="consent"`) {
		t.Fatalf("after login: %d %s", status, body)
	}
	_, consent := webtest.Form(body)
	consent.Set("action", "consent")
	consent.Set("decision", "allow")
	status, h, _ := a.Post(s.base+"/oauth2/authorize", consent)
	if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "code=") {
		t.Fatalf("allow: %d %q", status, h.Get("Location"))
	}
	// Signed in and consented: prompt=none goes straight back with a code.
	status, h, _ = a.Get(start + "&prompt=none")
	if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "code=") {
		t.Fatalf("prompt=none: %d %q", status, h.Get("Location"))
	}
	// prompt=login asks again even though signed in.
	if status, _, body := a.Get(start + "&prompt=login"); status != http.StatusOK || !strings.Contains(body, `<form id="login"`) {
		t.Fatalf("prompt=login: %d", status)
	}
	// Wider scopes than consented need consent again; prompt=none says so.
	status, h, _ = a.Get(strings.Replace(start, "scope=user_read", "scope=user_read%20account_read", 1) + "&prompt=none")
	if loc, _ := url.Parse(h.Get("Location")); status != http.StatusSeeOther || loc.Query().Get("error") != "consent_required" {
		t.Fatalf("wider scope with prompt=none: %d %q", status, h.Get("Location"))
	}
	// Logout ends the session: prompt=none then needs a login.
	status, _, body = a.Get(s.base + "/logout")
	if status != http.StatusOK || !strings.Contains(body, `<form id="logout"`) {
		t.Fatalf("logout page: %d", status)
	}
	if status, _, _ := a.Post(s.base+"/logout", url.Values{"csrf_token": {formOfLogout(body)}}); status != http.StatusOK {
		t.Fatalf("logout: %d", status)
	}
	status, h, _ = a.Get(start + "&prompt=none")
	if loc, _ := url.Parse(h.Get("Location")); loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none after logout: %d %q", status, h.Get("Location"))
	}
}

func formOfLogout(body string) string {
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}
