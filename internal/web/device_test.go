package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// The terminal of these tests is the demo's public device client, and the
// person who approves it a staff member of three businesses.
const (
	deviceClient  = "demo-terminal"
	deviceUser    = "owner@astonclub.example"
	devicePass    = "correct-horse-battery"
	deviceOwner   = "m-1002"
	deviceWarning = "Only continue if this code is shown on your device: "
)

// terminal is x/oauth2 configured as the demo terminal.
func terminal(s *site) *oauth2.Config {
	return &oauth2.Config{ClientID: deviceClient, Scopes: []string{"posapi"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: s.base + "/oauth2/device_authorization", TokenURL: s.base + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// startDevice asks for a device authorization as the terminal does.
func startDevice(t *testing.T, s *site) *oauth2.DeviceAuthResponse {
	t.Helper()
	da, err := terminal(s).DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if da.UserCode == "" || da.VerificationURI != s.base+"/device" || da.VerificationURIComplete != s.base+"/device?user_code="+da.UserCode {
		t.Fatalf("device authorization %+v", da)
	}
	return da
}

type polled struct {
	tok *oauth2.Token
	err error
}

// pollDevice runs the terminal's polling in the background, as a device
// waits for its person; the answer comes on the channel.
func pollDevice(t *testing.T, s *site, da *oauth2.DeviceAuthResponse) <-chan polled {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	got := make(chan polled, 1)
	go func() {
		defer cancel()
		tok, err := terminal(s).DeviceAccessToken(ctx, da)
		got <- polled{tok, err}
	}()
	t.Cleanup(cancel)
	return got
}

// awaitPoll waits for the terminal's answer.
func awaitPoll(t *testing.T, got <-chan polled) polled {
	t.Helper()
	select {
	case p := <-got:
		return p
	case <-time.After(70 * time.Second):
		t.Fatal("the terminal never got an answer")
		return polled{}
	}
}

// enterCode opens the device page and posts the code as a person types it.
func enterCode(t *testing.T, s *site, a *webtest.Agent, query, code string) (int, http.Header, string) {
	t.Helper()
	status, _, body := a.Get(s.base + "/device" + query)
	if status != http.StatusOK || !strings.Contains(body, `<form id="device"`) {
		t.Fatalf("device page: %d\n%s", status, body)
	}
	return a.Submit(s.base, body, url.Values{"user_code": {code}})
}

// toConsent goes from the page after the code to the consent page: login
// when asked, then the picker, choosing deviceOwner.
func toConsent(t *testing.T, s *site, a *webtest.Agent, status int, body string) string {
	t.Helper()
	if status == http.StatusOK && strings.Contains(body, `<form id="login"`) {
		status, _, body = a.Submit(s.base, body, url.Values{"username": {deviceUser}, "password": {devicePass}})
	}
	if status != http.StatusOK || !strings.Contains(body, `<form id="select-account"`) {
		t.Fatalf("want the account picker, got %d\n%s", status, body)
	}
	for _, id := range []string{"m-1001", "m-1002", "o-2001"} {
		if !strings.Contains(body, `value="`+id+`"`) {
			t.Fatalf("the picker does not offer %s", id)
		}
	}
	status, _, body = a.Submit(s.base, body, url.Values{"resource_owner": {deviceOwner}})
	if status != http.StatusOK || !strings.Contains(body, `<form id="consent"`) {
		t.Fatalf("want the consent page, got %d\n%s", status, body)
	}
	return body
}

// decideConsent posts the consent page's decision.
func decideConsent(a *webtest.Agent, s *site, consent, decision string) (int, http.Header, string) {
	return a.Submit(s.base, consent, url.Values{"decision": {decision}})
}

// introspect asks the demo resource server's question about an access token.
func introspect(t *testing.T, s *site, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo-api", "demo-api-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDeviceApprove: the terminal starts with x/oauth2 and polls while a
// manager enters the code (in lower case, without the dash), signs in,
// picks a merchant and allows on the consent page, which names the app,
// the scope and the code to compare. The terminal gets a token acting for
// that merchant; the same code cannot be approved again.
func TestDeviceApprove(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	da := startDevice(t, s)
	got := pollDevice(t, s, da)
	a := webtest.NewAgent(t)
	typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
	status, _, body := enterCode(t, s, a, "", typed)
	consent := toConsent(t, s, a, status, body)
	for _, want := range []string{deviceWarning + da.UserCode, "Demo POS terminal", "Use the point-of-sale API", deviceUser} {
		if !strings.Contains(consent, want) {
			t.Fatalf("the consent page does not show %q\n%s", want, consent)
		}
	}
	if _, fields := webtest.Form(consent); fields.Get("user_code") != da.UserCode || fields.Get("csrf_token") == "" {
		t.Fatalf("consent form fields %v", fields)
	}
	status, h, body := decideConsent(a, s, consent, "allow")
	if status != http.StatusOK || h.Get("Location") != "" || !strings.Contains(body, "Device connected — you can return to your device.") {
		t.Fatalf("allow: %d %q\n%s", status, h.Get("Location"), body)
	}
	p := awaitPoll(t, got)
	if p.err != nil {
		t.Fatalf("the terminal: %v", p.err)
	}
	if p.tok.AccessToken == "" || p.tok.RefreshToken == "" {
		t.Fatalf("token %+v", p.tok)
	}
	in := introspect(t, s, p.tok.AccessToken)
	if in["active"] != true || in["merchant_id"] != deviceOwner || in["client_id"] != deviceClient || in["scope"] != "posapi" {
		t.Fatalf("introspection %v", in)
	}

	// The same consent form again, then the code again: both refused.
	status, _, body = decideConsent(a, s, consent, "allow")
	if status != http.StatusBadRequest || !strings.Contains(body, "not valid") || !strings.Contains(body, `<form id="device"`) {
		t.Fatalf("the consent form once more: %d\n%s", status, body)
	}
	status, _, body = enterCode(t, s, a, "", da.UserCode)
	if status != http.StatusBadRequest || !strings.Contains(body, `id="device-error"`) || !strings.Contains(body, "already used") {
		t.Fatalf("a used code: %d\n%s", status, body)
	}
}

// TestDeviceConsentAlways: a signed-in person who approved a terminal sees
// the consent page again for the next one (an approval is never
// remembered), and nothing is decided before they answer it.
func TestDeviceConsentAlways(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	a := webtest.NewAgent(t)
	first := startDevice(t, s)
	status, _, body := enterCode(t, s, a, "", first.UserCode)
	if status, _, body := decideConsent(a, s, toConsent(t, s, a, status, body), "allow"); status != http.StatusOK ||
		!strings.Contains(body, "Device connected") {
		t.Fatalf("first approval: %d\n%s", status, body)
	}
	second := startDevice(t, s)
	status, _, body = enterCode(t, s, a, "", second.UserCode)
	if strings.Contains(body, `<form id="login"`) {
		t.Fatal("signed in, yet asked to sign in again")
	}
	consent := toConsent(t, s, a, status, body)
	if !strings.Contains(consent, deviceWarning+second.UserCode) {
		t.Fatalf("second consent page\n%s", consent)
	}
	// A consent form whose code was swapped for another pending one grants nothing.
	third := startDevice(t, s)
	status, _, body = a.Submit(s.base, consent, url.Values{"decision": {"allow"}, "user_code": {third.UserCode}})
	if status != http.StatusBadRequest || !strings.Contains(body, "consent form was changed") {
		t.Fatalf("swapped code: %d\n%s", status, body)
	}
	for _, code := range []string{second.UserCode, third.UserCode} {
		status, _, body := enterCode(t, s, a, "", code)
		if status != http.StatusOK || !strings.Contains(body, `<form id="select-account"`) {
			t.Fatalf("code %s after the swapped form: %d, want it still pending\n%s", code, status, body)
		}
	}
}

// TestDeviceDeny: Deny shows a page and the terminal's poll ends with access_denied.
func TestDeviceDeny(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	da := startDevice(t, s)
	got := pollDevice(t, s, da)
	a := webtest.NewAgent(t)
	status, _, body := enterCode(t, s, a, "", da.UserCode)
	status, h, body := decideConsent(a, s, toConsent(t, s, a, status, body), "deny")
	if status != http.StatusOK || h.Get("Location") != "" || !strings.Contains(body, "Request denied — the device was not connected.") {
		t.Fatalf("deny: %d %q\n%s", status, h.Get("Location"), body)
	}
	p := awaitPoll(t, got)
	var re *oauth2.RetrieveError
	if !errors.As(p.err, &re) || re.ErrorCode != "access_denied" || p.tok != nil {
		t.Fatalf("the terminal after a denial: %v %+v", p.err, p.tok)
	}
}

// TestDevicePrefilled: verification_uri_complete fills the code in and
// waits for the person: nothing is looked up or paired by the link alone.
func TestDevicePrefilled(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	da := startDevice(t, s)
	a := webtest.NewAgent(t)
	status, _, body := a.Get(da.VerificationURIComplete)
	if status != http.StatusOK || !strings.Contains(body, `<form id="device"`) || !strings.Contains(body, `value="`+da.UserCode+`"`) ||
		strings.Contains(body, `id="device-error"`) {
		t.Fatalf("pre-filled page: %d\n%s", status, body)
	}
	for _, attr := range []string{`name="user_code"`, `autocomplete="off"`, `autocapitalize="characters"`, `name="csrf_token"`, `type="submit"`} {
		if !strings.Contains(body, attr) {
			t.Fatalf("the form lacks %s\n%s", attr, body)
		}
	}
	// Confirming it goes on to the login page, carrying the code.
	status, _, body = a.Submit(s.base, body, url.Values{"user_code": {da.UserCode}})
	if _, f := webtest.Form(body); status != http.StatusOK || !strings.Contains(body, `<form id="login"`) || f.Get("user_code") != da.UserCode {
		t.Fatalf("after confirming: %d %v\n%s", status, f, body)
	}
}

// TestDeviceWrongCodes: a wrong code shows the form again with a message;
// past the budget, the source is told to wait (429, Retry-After), even for
// a good code.
func TestDeviceWrongCodes(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	da := startDevice(t, s)
	a := webtest.NewAgent(t)
	status, _, body := enterCode(t, s, a, "", "BCDF-GHJK")
	if status != http.StatusBadRequest || !strings.Contains(body, `id="device-error"`) || !strings.Contains(body, "This code is not valid") ||
		!strings.Contains(body, `value="BCDF-GHJK"`) {
		t.Fatalf("wrong code: %d\n%s", status, body)
	}
	throttled := 0
	for i := 2; i <= 30; i++ {
		status, h, body := enterCode(t, s, a, "", "not a code")
		if status == http.StatusTooManyRequests {
			if i < 11 || h.Get("Retry-After") == "" || !strings.Contains(body, "Too many wrong codes") {
				t.Fatalf("attempt %d: 429 with Retry-After %q\n%s", i, h.Get("Retry-After"), body)
			}
			throttled = i
			break
		}
		if status != http.StatusBadRequest {
			t.Fatalf("attempt %d: %d", i, status)
		}
	}
	if throttled == 0 {
		t.Fatal("30 wrong codes and never a 429")
	}
	if status, h, _ := enterCode(t, s, a, "", da.UserCode); status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("a good code from a throttled source: %d %q", status, h.Get("Retry-After"))
	}
}

// TestDeviceCSRF: a form without the browser's token is refused with the
// form again; nothing is looked up.
func TestDeviceCSRF(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	da := startDevice(t, s)
	a := webtest.NewAgent(t)
	a.Get(s.base + "/device") // the CSRF cookie
	status, _, body := a.Post(s.base+"/device", url.Values{"action": {"device"}, "user_code": {da.UserCode}})
	if status != http.StatusBadRequest || !strings.Contains(body, "This form has expired") || !strings.Contains(body, `<form id="device"`) {
		t.Fatalf("no CSRF token: %d\n%s", status, body)
	}
	b := webtest.NewAgent(t) // no cookie at all
	status, _, _ = b.Post(s.base+"/device", url.Values{"action": {"device"}, "user_code": {da.UserCode}, "csrf_token": {"x"}})
	if status != http.StatusBadRequest {
		t.Fatalf("no CSRF cookie: %d", status)
	}
}

// TestDeviceFrench: the pages in French, from ui_locales on the link to
// the consent page's warning, and from Accept-Language.
func TestDeviceFrench(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	da := startDevice(t, s)
	a := webtest.NewAgent(t)
	req, _ := http.NewRequest(http.MethodGet, s.base+"/device", nil)
	req.Header.Set("Accept-Language", "fr-CA,fr;q=0.9,en;q=0.5")
	if status, _, body := a.Do(req); status != http.StatusOK || !strings.Contains(body, `<html lang="fr">`) ||
		!strings.Contains(body, "Connecter un appareil") {
		t.Fatalf("Accept-Language fr: %d\n%s", status, body)
	}
	status, _, body := enterCode(t, s, a, "?ui_locales=fr", da.UserCode)
	if !strings.Contains(body, "Se connecter") {
		t.Fatalf("French login page: %d\n%s", status, body)
	}
	consent := toConsent(t, s, a, status, body)
	if !strings.Contains(consent, "Ne continuez que si ce code est affiché sur votre appareil : "+da.UserCode) ||
		!strings.Contains(consent, "Autoriser") {
		t.Fatalf("French consent page\n%s", consent)
	}
	status, _, body = decideConsent(a, s, consent, "deny")
	if status != http.StatusOK || !strings.Contains(body, "Demande refusée — l’appareil n’a pas été connecté.") {
		t.Fatalf("French outcome: %d\n%s", status, body)
	}
	status, _, body = enterCode(t, s, a, "?lang=fr", "BCDF-GHJK")
	if status != http.StatusBadRequest || !strings.Contains(body, "Ce code n’est pas valide") {
		t.Fatalf("French wrong code: %d\n%s", status, body)
	}
}
