package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// The relying party of these tests: a confidential staff client that
// speaks OpenID Connect, registered by the tests themselves.
const (
	oidcClientID   = "staff-portal"
	oidcSecret     = "staff-portal-secret"
	oidcRedirect   = "https://rp.example/cb"
	oidcPostLogout = "https://rp.example/signed-out"
	oidcScope      = "openid profile email"
)

// oidcPerson is a demo staff account and the business it picks when asked.
type oidcPerson struct{ id, username, password, owner string }

var (
	oidcAston = oidcPerson{"acc_demo_aston_owner", "owner@astonclub.example", "correct-horse-battery", "m-1001"} // three businesses: always the picker
	oidcAcme  = oidcPerson{"acc_demo_acmejewellers", "acmejewellers", "dice-vanila-purse", "123456"}             // one business: no picker
)

// oidcRP is latchkey with the relying party registered.
type oidcRP struct {
	t     *testing.T
	base  string
	store storage.Storage
}

// newOIDCRP registers the relying party on the pages' test site.
func newOIDCRP(t *testing.T) *oidcRP {
	t.Helper()
	s := newSite(t)
	return registerOIDC(t, s.base, s.store)
}

// newOIDCRPAt is newOIDCRP on a latchkey whose clock is now.
func newOIDCRPAt(t *testing.T, now func() time.Time) *oidcRP {
	t.Helper()
	d := demoserver.Start(t, demoserver.Options{Product: "Latchkey Demo", Now: now})
	return registerOIDC(t, d.URL, d.Store)
}

func registerOIDC(t *testing.T, base string, st storage.Storage) *oidcRP {
	t.Helper()
	keys, err := secrets.NewKeys([]byte(strings.Repeat("d", 32))) // the demo server's system secret
	if err != nil {
		t.Fatal(err)
	}
	c := storage.Client{ID: oidcClientID, Name: "Staff Portal", SecretHash: keys.HashClientSecret(oidcSecret),
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email", "user_read"},
		DefaultScopes: []string{"openid"}, RedirectURIs: []string{oidcRedirect}, AccessTokenTTL: time.Hour,
		AccountKind: storage.Staff, AccessTokenFormat: "jwt", IDTokenAlg: "ES256",
		PostLogoutRedirectURIs: []string{oidcPostLogout}}
	if err := st.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return &oidcRP{t: t, base: base, store: st}
}

func (rp *oidcRP) authorizeURL(extra url.Values) string {
	q := url.Values{"client_id": {oidcClientID}, "response_type": {"code"}, "redirect_uri": {oidcRedirect},
		"scope": {oidcScope}, "state": {"st-oidc"}}
	for k, v := range extra {
		q[k] = v
	}
	return rp.base + "/oauth2/authorize?" + q.Encode()
}

var oidcFormID = regexp.MustCompile(`<form id="([^"]+)"`)

// answer reads a response of the authorization endpoint: the id of the
// form of the page shown, or the query of the redirect back to the client.
// Anything else (another status, a redirect elsewhere) fails the test.
func (rp *oidcRP) answer(status int, h http.Header, body string) (form string, back url.Values) {
	rp.t.Helper()
	switch status {
	case http.StatusOK:
		m := oidcFormID.FindStringSubmatch(body)
		if m == nil {
			rp.t.Fatalf("a page without a form:\n%s", body)
		}
		return m[1], nil
	case http.StatusSeeOther:
		loc := h.Get("Location")
		if !strings.HasPrefix(loc, oidcRedirect+"?") {
			rp.t.Fatalf("redirected to %q, not to the client", loc)
		}
		u, err := url.Parse(loc)
		if err != nil {
			rp.t.Fatal(err)
		}
		return "", u.Query()
	}
	rp.t.Fatalf("authorization answered %d:\n%s", status, body)
	return "", nil
}

// first sends one authorization request and says what came back.
func (rp *oidcRP) first(a *webtest.Agent, extra url.Values) (form string, back url.Values) {
	rp.t.Helper()
	return rp.answer(a.Get(rp.authorizeURL(extra)))
}

// oidcVisit is what one authorization went through.
type oidcVisit struct {
	pages   []string   // the ids of the forms shown, in order
	back    url.Values // the query of the redirect to the client
	session string     // the session cookie a login set, if one did
}

// authorize drives an authorization as a person would: p signs in on the
// login page, picks p's business on the picker and allows on the consent
// page, until latchkey sends the browser back to the client.
func (rp *oidcRP) authorize(a *webtest.Agent, p oidcPerson, extra url.Values) oidcVisit {
	rp.t.Helper()
	var v oidcVisit
	status, h, body := a.Get(rp.authorizeURL(extra))
	for range 6 {
		form, back := rp.answer(status, h, body)
		if back != nil {
			v.back = back
			return v
		}
		v.pages = append(v.pages, form)
		var fields url.Values
		switch form {
		case "login":
			fields = url.Values{"username": {p.username}, "password": {p.password}}
		case "select-account":
			fields = url.Values{"resource_owner": {p.owner}}
		case "consent":
			fields = url.Values{"decision": {"allow"}}
		default:
			rp.t.Fatalf("unexpected form %q after %v", form, v.pages)
		}
		status, h, body = a.Submit(rp.base, body, fields)
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.Name == "lk_session" && c.Value != "" {
				v.session = c.Value
			}
		}
	}
	rp.t.Fatalf("the flow never ended; pages %v", v.pages)
	return v
}

// code checks that the redirect back carries a code and the request's state.
func (rp *oidcRP) code(back url.Values) string {
	rp.t.Helper()
	if back.Get("code") == "" || back.Get("error") != "" || back.Get("state") != "st-oidc" || back.Get("iss") != rp.base {
		rp.t.Fatalf("redirect back %v, want a code with state and iss", back)
	}
	return back.Get("code")
}

// wantError checks that the redirect back is the error code, with state and iss.
func (rp *oidcRP) wantError(what string, back url.Values, code string) {
	rp.t.Helper()
	if back == nil || back.Get("error") != code || back.Get("code") != "" || back.Get("state") != "st-oidc" ||
		back.Get("iss") != rp.base || back.Get("error_description") == "" {
		rp.t.Errorf("%s: redirect back %v, want error=%s with state and iss", what, back, code)
	}
}

// exchange redeems a code of the relying party and returns the ID token and access token.
func (rp *oidcRP) exchange(code string) (idToken, accessToken string) {
	rp.t.Helper()
	return oidcExchange(rp.t, rp.base, oidcClientID, oidcSecret, oidcRedirect, code)
}

// oidcExchange redeems a code at the token endpoint with the client's
// secret (HTTP Basic) and returns the ID token and access token.
func oidcExchange(t *testing.T, base, clientID, secret, redirectURI, code string) (idToken, accessToken string) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	req, err := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || res.IDToken == "" || res.AccessToken == "" {
		t.Fatalf("token endpoint: %d %+v, want an ID token", resp.StatusCode, res)
	}
	return res.IDToken, res.AccessToken
}

// oidcClaims are the ID token claims these tests look at.
type oidcClaims struct {
	Issuer            string `json:"iss"`
	Subject           string `json:"sub"`
	Audience          string `json:"aud"`
	Nonce             string `json:"nonce"`
	AuthTime          int64  `json:"auth_time"`
	PreferredUsername string `json:"preferred_username"`
	MerchantID        string `json:"merchant_id"`
}

// idClaims decodes an ID token's payload; its signature is checked elsewhere
// (internal/oauth), and here by the id_token_hint tests.
func idClaims(t *testing.T, jwt string) oidcClaims {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("an ID token of %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c oidcClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// signedIn logs p in with a, allowing the relying party, and returns the ID token.
func (rp *oidcRP) signedIn(a *webtest.Agent, p oidcPerson) (idToken string, v oidcVisit) {
	rp.t.Helper()
	v = rp.authorize(a, p, nil)
	if len(v.pages) == 0 || v.pages[0] != "login" || v.session == "" {
		rp.t.Fatalf("%s: pages %v, session %q: want a login", p.username, v.pages, v.session)
	}
	idToken, _ = rp.exchange(rp.code(v.back))
	if sub := idClaims(rp.t, idToken).Subject; sub != p.id {
		rp.t.Fatalf("ID token of %s has sub %q", p.username, sub)
	}
	return idToken, v
}

// silent checks that a's session still serves prompt=none with a code.
func (rp *oidcRP) silent(what string, a *webtest.Agent) {
	rp.t.Helper()
	form, back := rp.first(a, url.Values{"prompt": {"none"}})
	if form != "" || back.Get("code") == "" {
		rp.t.Errorf("%s: prompt=none got page %q / %v, want a code (the session should be alive)", what, form, back)
	}
}

// signedOut checks that a's session is over: prompt=none needs a login.
func (rp *oidcRP) signedOut(what string, a *webtest.Agent) {
	rp.t.Helper()
	form, back := rp.first(a, url.Values{"prompt": {"none"}})
	if form != "" {
		rp.t.Errorf("%s: prompt=none showed page %q", what, form)
		return
	}
	rp.wantError(what+": prompt=none", back, "login_required")
}

// TestOIDCPromptNoneWithoutSession: nobody signed in, prompt=none goes
// back to the client with login_required, the state and iss; no page.
func TestOIDCPromptNoneWithoutSession(t *testing.T) {
	rp := newOIDCRP(t)
	a := webtest.NewAgent(t)
	form, back := rp.first(a, url.Values{"prompt": {"none"}, "nonce": {"n-0"}})
	if form != "" {
		t.Fatalf("prompt=none showed page %q", form)
	}
	rp.wantError("prompt=none without a session", back, "login_required")
	// The same without prompt=none shows the login page.
	if form, back := rp.first(a, nil); form != "login" {
		t.Fatalf("without prompt=none: page %q / %v, want the login page", form, back)
	}
}

// TestOIDCCodeFlowAndSilentReauth: a login and a code exchanged with the
// client's secret give an ID token with the nonce and the sign-in time;
// then prompt=none in the same browser gets a code without a page, and its
// ID token keeps the time of the first sign-in.
func TestOIDCCodeFlowAndSilentReauth(t *testing.T) {
	rp := newOIDCRP(t)
	a := webtest.NewAgent(t)
	before := time.Now().Unix()
	v := rp.authorize(a, oidcAcme, url.Values{"nonce": {"n-first"}})
	after := time.Now().Unix()
	if !slices.Equal(v.pages, []string{"login", "consent"}) {
		t.Fatalf("pages %v, want login then consent (one business: no picker)", v.pages)
	}
	idToken, _ := rp.exchange(rp.code(v.back))
	c := idClaims(t, idToken)
	if c.Issuer != rp.base || c.Audience != oidcClientID || c.Subject != oidcAcme.id || c.Nonce != "n-first" ||
		c.PreferredUsername != "acmejewellers" || c.MerchantID != "123456" {
		t.Errorf("ID token claims %+v", c)
	}
	if c.AuthTime < before || c.AuthTime > after {
		t.Errorf("auth_time %d, want the login, between %d and %d", c.AuthTime, before, after)
	}

	// Signed in and consented: prompt=none is silent.
	form, back := rp.first(a, url.Values{"prompt": {"none"}, "nonce": {"n-silent"}})
	if form != "" {
		t.Fatalf("prompt=none showed page %q", form)
	}
	silent, _ := rp.exchange(rp.code(back))
	s := idClaims(t, silent)
	if s.Subject != oidcAcme.id || s.Nonce != "n-silent" || s.AuthTime != c.AuthTime {
		t.Errorf("silent ID token %+v, want the new nonce and the first sign-in's auth_time %d", s, c.AuthTime)
	}
	// Without nonce the ID token has none.
	_, back = rp.first(a, url.Values{"prompt": {"none"}})
	if none, _ := rp.exchange(rp.code(back)); idClaims(t, none).Nonce != "" {
		t.Errorf("an ID token without a nonce asked has nonce %q", idClaims(t, none).Nonce)
	}
}

// TestOIDCMaxAge: max_age=0 forces a login, and prompt=none then answers
// login_required; a max_age the session satisfies does not. The forms
// after the new login (picker, consent) do not ask again.
func TestOIDCMaxAge(t *testing.T) {
	rp := newOIDCRP(t)
	acme := webtest.NewAgent(t)
	rp.signedIn(acme, oidcAcme)
	if form, back := rp.first(acme, url.Values{"max_age": {"86400"}}); form != "" || back.Get("code") == "" {
		t.Errorf("max_age=86400 on a fresh session: page %q / %v, want a code", form, back)
	}
	if form, _ := rp.first(acme, url.Values{"max_age": {"0"}}); form != "login" {
		t.Errorf("max_age=0: page %q, want the login page", form)
	}
	_, back := rp.first(acme, url.Values{"max_age": {"0"}, "prompt": {"none"}})
	rp.wantError("max_age=0 with prompt=none", back, "login_required")

	// After the new login the flow completes: one login, then a code.
	start := time.Now().Unix()
	v := rp.authorize(acme, oidcAcme, url.Values{"max_age": {"0"}})
	if !slices.Equal(v.pages, []string{"login"}) {
		t.Fatalf("max_age=0: pages %v, want one login (consent is remembered)", v.pages)
	}
	idToken, _ := rp.exchange(rp.code(v.back))
	if at := idClaims(t, idToken).AuthTime; at < start {
		t.Errorf("auth_time %d after a new login at %d", at, start)
	}

	// The picker and consent forms after a max_age login carry no max_age
	// that would send the person back to the login page.
	aston := webtest.NewAgent(t)
	rp.signedIn(aston, oidcAston)
	v = rp.authorize(aston, oidcAston, url.Values{"max_age": {"0"}, "scope": {oidcScope + " user_read"}})
	if !slices.Equal(v.pages, []string{"login", "select-account", "consent"}) {
		t.Fatalf("max_age=0 with a picker and a wider scope: pages %v, want login, picker, consent", v.pages)
	}
	rp.code(v.back)
}

// oidcClock is a settable clock for the server.
type oidcClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *oidcClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *oidcClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestOIDCMaxAgeClock: on the server's clock, a sign-in ten minutes old
// satisfies max_age=900 but not max_age=300; after the new login the ID
// token's auth_time is the new sign-in's.
func TestOIDCMaxAgeClock(t *testing.T) {
	clock := &oidcClock{now: time.Now().Truncate(time.Second)}
	t0 := clock.Now()
	rp := newOIDCRPAt(t, clock.Now)
	a := webtest.NewAgent(t)
	idToken, _ := rp.signedIn(a, oidcAcme)
	if at := idClaims(t, idToken).AuthTime; at != t0.Unix() {
		t.Fatalf("auth_time %d, want %d", at, t0.Unix())
	}
	clock.Advance(10 * time.Minute)

	form, back := rp.first(a, url.Values{"max_age": {"900"}})
	if form != "" {
		t.Fatalf("a 600 s old sign-in with max_age=900: page %q, want a code", form)
	}
	if idToken, _ = rp.exchange(rp.code(back)); idClaims(t, idToken).AuthTime != t0.Unix() {
		t.Errorf("max_age=900: auth_time %d, want the first sign-in %d", idClaims(t, idToken).AuthTime, t0.Unix())
	}
	if form, _ := rp.first(a, url.Values{"max_age": {"300"}}); form != "login" {
		t.Errorf("a 600 s old sign-in with max_age=300: page %q, want the login page", form)
	}
	_, back = rp.first(a, url.Values{"max_age": {"300"}, "prompt": {"none"}})
	rp.wantError("max_age=300 with prompt=none", back, "login_required")

	v := rp.authorize(a, oidcAcme, url.Values{"max_age": {"300"}})
	if !slices.Equal(v.pages, []string{"login"}) {
		t.Fatalf("max_age=300: pages %v, want one login", v.pages)
	}
	idToken, _ = rp.exchange(rp.code(v.back))
	if at := idClaims(t, idToken).AuthTime; at != clock.Now().Unix() {
		t.Errorf("auth_time after the new login %d, want %d", at, clock.Now().Unix())
	}
	// The new sign-in now satisfies max_age=300.
	if form, back := rp.first(a, url.Values{"max_age": {"300"}, "prompt": {"none"}}); form != "" || back.Get("code") == "" {
		t.Errorf("max_age=300 just after a login: page %q / %v, want a code", form, back)
	}

	// max_age=0 is prompt=login (OpenID Connect Core §3.1.2.1): even a
	// sign-in of this very instant must be repeated.
	t.Run("max_age=0 at the instant of the sign-in", func(t *testing.T) {
		rp := &oidcRP{t: t, base: rp.base, store: rp.store} // failures belong to the subtest
		if form, back := rp.first(a, url.Values{"max_age": {"0"}}); form != "login" {
			t.Errorf("max_age=0 with a sign-in 0 s old: page %q / %v, want the login page", form, back)
		}
	})
}

// TestOIDCIDTokenHint: an id_token_hint naming another person than the
// one signed in asks for a login (login_required with prompt=none); a
// hint naming the person signed in does not; a login as the hinted person
// completes the flow.
func TestOIDCIDTokenHint(t *testing.T) {
	rp := newOIDCRP(t)
	astonToken, _ := rp.signedIn(webtest.NewAgent(t), oidcAston)
	a := webtest.NewAgent(t)
	acmeToken, _ := rp.signedIn(a, oidcAcme)

	if form, back := rp.first(a, url.Values{"id_token_hint": {astonToken}}); form != "login" {
		t.Errorf("hint of another person: page %q / %v, want the login page", form, back)
	}
	_, back := rp.first(a, url.Values{"id_token_hint": {astonToken}, "prompt": {"none"}})
	rp.wantError("hint of another person with prompt=none", back, "login_required")

	if form, back := rp.first(a, url.Values{"id_token_hint": {acmeToken}}); form != "" || back.Get("code") == "" {
		t.Errorf("hint of the person signed in: page %q / %v, want a code", form, back)
	}
	form, back := rp.first(a, url.Values{"id_token_hint": {acmeToken}, "prompt": {"none"}, "nonce": {"n-hint"}})
	if form != "" {
		t.Fatalf("hint of the person signed in with prompt=none: page %q", form)
	}
	if idToken, _ := rp.exchange(rp.code(back)); idClaims(t, idToken).Subject != oidcAcme.id {
		t.Errorf("silent ID token for %q", idClaims(t, idToken).Subject)
	}

	// Signing in as the hinted person: the picker after the login does not ask again.
	v := rp.authorize(a, oidcAston, url.Values{"id_token_hint": {astonToken}})
	if !slices.Equal(v.pages, []string{"login", "select-account"}) {
		t.Fatalf("hint of another person, then a login: pages %v, want login then picker", v.pages)
	}
	if idToken, _ := rp.exchange(rp.code(v.back)); idClaims(t, idToken).Subject != oidcAston.id {
		t.Errorf("after the login as the hinted person the ID token names %q", idClaims(t, idToken).Subject)
	}

	// Signing in as someone else than the hint names: the client is told
	// login_required, not handed another person.
	v = rp.authorize(webtest.NewAgent(t), oidcAcme, url.Values{"id_token_hint": {astonToken}})
	if !slices.Equal(v.pages, []string{"login"}) {
		t.Fatalf("hint of one person, login as another: pages %v", v.pages)
	}
	rp.wantError("login as another person than the hint", v.back, "login_required")
}

// TestOIDCInvalidIDTokenHint: a hint that is not an ID token of this
// server sends invalid_request back, signed in or not.
func TestOIDCInvalidIDTokenHint(t *testing.T) {
	rp := newOIDCRP(t)
	a := webtest.NewAgent(t)
	idToken, _ := rp.signedIn(a, oidcAcme)
	_, accessToken := rp.exchange(rp.code(rp.authorize(a, oidcAcme, nil).back))
	if strings.Count(accessToken, ".") != 2 {
		t.Fatalf("the client's access tokens should be JWTs: %q", accessToken)
	}
	parts := strings.Split(idToken, ".")
	other := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + rp.base + `","sub":"acc_demo_aston_owner","aud":"` + oidcClientID + `"}`))
	hints := map[string]string{
		"not a JWT":             "not-a-jwt",
		"changed payload":       parts[0] + "." + other + "." + parts[2],
		"no signature":          parts[0] + "." + parts[1] + ".",
		"an access token (JWT)": accessToken,
	}
	for name, hint := range hints {
		for _, who := range []*webtest.Agent{a, webtest.NewAgent(t)} {
			form, back := rp.first(who, url.Values{"id_token_hint": {hint}})
			if form != "" {
				t.Errorf("%s: page %q, want invalid_request", name, form)
				continue
			}
			rp.wantError(name, back, "invalid_request")
		}
	}
}

// oidcLogout sends an RP-initiated logout by GET.
func (rp *oidcRP) oidcLogout(a *webtest.Agent, q url.Values) (int, http.Header, string) {
	return a.Get(rp.base + "/oauth2/logout?" + q.Encode())
}

// sessionGone checks that the session cookie no longer names a stored session.
func (rp *oidcRP) sessionGone(what, cookie string) {
	rp.t.Helper()
	if _, err := rp.store.GetSession(context.Background(), secrets.TokenID(cookie)); !errors.Is(err, storage.ErrNotFound) {
		rp.t.Errorf("%s: the session is still stored (%v)", what, err)
	}
}

// TestOIDCLogoutWithHint: a logout whose id_token_hint names the person
// signed in ends the session without a question and goes back to the
// registered post_logout_redirect_uri with the state, by GET or by POST.
func TestOIDCLogoutWithHint(t *testing.T) {
	rp := newOIDCRP(t)
	a := webtest.NewAgent(t)
	idToken, v := rp.signedIn(a, oidcAcme)
	status, h, body := rp.oidcLogout(a, url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {oidcPostLogout}, "state": {"lo-1"}})
	if status != http.StatusSeeOther || h.Get("Location") != oidcPostLogout+"?state=lo-1" {
		t.Fatalf("logout with the hint of the person signed in: %d %q\n%s", status, h.Get("Location"), body)
	}
	cleared := false
	for _, c := range (&http.Response{Header: h}).Cookies() {
		cleared = cleared || c.Name == "lk_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("the logout did not clear the session cookie: %q", h.Values("Set-Cookie"))
	}
	rp.sessionGone("logout with hint", v.session)
	rp.signedOut("after logout with hint", a)

	// The same by POST, naming the client too; no state, no state back.
	b := webtest.NewAgent(t)
	idToken, v = rp.signedIn(b, oidcAcme)
	status, h, _ = b.Post(rp.base+"/oauth2/logout", url.Values{"id_token_hint": {idToken}, "client_id": {oidcClientID},
		"post_logout_redirect_uri": {oidcPostLogout}})
	if status != http.StatusSeeOther || h.Get("Location") != oidcPostLogout {
		t.Fatalf("logout by POST: %d %q", status, h.Get("Location"))
	}
	rp.sessionGone("logout by POST", v.session)
	rp.signedOut("after logout by POST", b)
}

// TestOIDCLogoutConfirmation: without a hint (or with the hint of someone
// else) the person is asked first, and the confirmation form needs its
// CSRF token; once confirmed, the browser goes back with the state.
func TestOIDCLogoutConfirmation(t *testing.T) {
	rp := newOIDCRP(t)
	astonToken, _ := rp.signedIn(webtest.NewAgent(t), oidcAston)
	a := webtest.NewAgent(t)
	_, v := rp.signedIn(a, oidcAcme)
	q := url.Values{"client_id": {oidcClientID}, "post_logout_redirect_uri": {oidcPostLogout}, "state": {"lo-2"}}

	for name, q := range map[string]url.Values{
		"no hint":                   q,
		"hint of another person":    {"id_token_hint": {astonToken}, "post_logout_redirect_uri": {oidcPostLogout}, "state": {"lo-2"}},
		"no hint, no redirect back": {},
	} {
		status, h, body := rp.oidcLogout(a, q)
		if status != http.StatusOK || h.Get("Location") != "" || !strings.Contains(body, `<form id="logout"`) ||
			!strings.Contains(body, "acmejewellers") {
			t.Errorf("%s: %d %q, want the confirmation page naming the account", name, status, h.Get("Location"))
		}
	}
	rp.silent("after the confirmation pages were shown", a)

	status, _, body := rp.oidcLogout(a, q)
	action, fields := webtest.Form(body)
	if status != http.StatusOK || action != "/oauth2/logout" || fields.Get("csrf_token") == "" || fields.Get("action") != "logout" ||
		fields.Get("client_id") != oidcClientID || fields.Get("post_logout_redirect_uri") != oidcPostLogout || fields.Get("state") != "lo-2" {
		t.Fatalf("confirmation form posts to %q with %v", action, fields)
	}
	for name, token := range map[string]string{"without the CSRF token": "", "with a forged CSRF token": "forged"} {
		forged := url.Values{}
		for k, v := range fields {
			forged[k] = v
		}
		if token == "" {
			forged.Del("csrf_token")
		} else {
			forged.Set("csrf_token", token)
		}
		if status, h, _ := a.Post(rp.base+action, forged); status != http.StatusBadRequest || h.Get("Location") != "" {
			t.Errorf("confirmation %s: %d %q, want a 400 page", name, status, h.Get("Location"))
		}
	}
	rp.silent("after refused confirmations", a)

	status, h, _ := a.Post(rp.base+action, fields)
	if status != http.StatusSeeOther || h.Get("Location") != oidcPostLogout+"?state=lo-2" {
		t.Fatalf("confirmed logout: %d %q", status, h.Get("Location"))
	}
	rp.sessionGone("confirmed logout", v.session)
	rp.signedOut("after the confirmed logout", a)
}

// TestOIDCLogoutUnregisteredRedirect: a post_logout_redirect_uri that is
// not registered exactly for the client named is a 400 page, never a
// redirect, and signs nobody out, even with the hint of the person signed in.
func TestOIDCLogoutUnregisteredRedirect(t *testing.T) {
	rp := newOIDCRP(t)
	a := webtest.NewAgent(t)
	idToken, _ := rp.signedIn(a, oidcAcme)
	for name, q := range map[string]url.Values{
		"another host":             {"client_id": {oidcClientID}, "post_logout_redirect_uri": {"https://evil.example/"}},
		"a longer path":            {"client_id": {oidcClientID}, "post_logout_redirect_uri": {oidcPostLogout + "/x"}},
		"an added query":           {"client_id": {oidcClientID}, "post_logout_redirect_uri": {oidcPostLogout + "?next=/"}},
		"the login redirect URI":   {"client_id": {oidcClientID}, "post_logout_redirect_uri": {oidcRedirect}},
		"with a matching hint":     {"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}, "state": {"x"}},
		"no client named":          {"post_logout_redirect_uri": {oidcPostLogout}},
		"another client's":         {"client_id": {"guest-web"}, "post_logout_redirect_uri": {oidcPostLogout}},
		"an unknown client":        {"client_id": {"nope"}, "post_logout_redirect_uri": {oidcPostLogout}},
		"client_id unlike hint's":  {"id_token_hint": {idToken}, "client_id": {"guest-web"}, "post_logout_redirect_uri": {oidcPostLogout}},
		"state too long, by hint":  {"id_token_hint": {idToken}, "post_logout_redirect_uri": {oidcPostLogout}, "state": {strings.Repeat("s", 1025)}},
		"a parameter given twice":  {"id_token_hint": {idToken, idToken}, "post_logout_redirect_uri": {oidcPostLogout}},
		"by POST, unregistered to": nil,
	} {
		var status int
		var h http.Header
		var body string
		if q == nil {
			status, h, body = a.Post(rp.base+"/oauth2/logout", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}})
		} else {
			status, h, body = rp.oidcLogout(a, q)
		}
		if status != http.StatusBadRequest || h.Get("Location") != "" || !strings.Contains(body, `<h1 id="title">`) ||
			strings.Contains(body, `<form id="logout"`) {
			t.Errorf("%s: %d %q, want a 400 error page", name, status, h.Get("Location"))
		}
	}
	rp.silent("after refused logouts", a)
}

// TestOIDCLogoutWithoutSession: with nobody signed in there is nothing to
// confirm: the signed-out page, or the way back to the client.
func TestOIDCLogoutWithoutSession(t *testing.T) {
	rp := newOIDCRP(t)
	a := webtest.NewAgent(t)
	status, h, body := rp.oidcLogout(a, nil)
	if status != http.StatusOK || h.Get("Location") != "" || !strings.Contains(body, "You are signed out.") ||
		strings.Contains(body, `<form id="logout"`) {
		t.Errorf("logout without a session: %d %q, want the signed-out page\n%s", status, h.Get("Location"), body)
	}
	status, h, _ = rp.oidcLogout(a, url.Values{"client_id": {oidcClientID}, "post_logout_redirect_uri": {oidcPostLogout}, "state": {"lo-3"}})
	if status != http.StatusSeeOther || h.Get("Location") != oidcPostLogout+"?state=lo-3" {
		t.Errorf("logout without a session, with a registered redirect: %d %q", status, h.Get("Location"))
	}
}

// TestOIDCLogoutFrench: ui_locales=fr gives the confirmation page in
// French, and the form carries the locale on to the signed-out page.
func TestOIDCLogoutFrench(t *testing.T) {
	rp := newOIDCRP(t)
	a := webtest.NewAgent(t)
	rp.signedIn(a, oidcAcme)
	status, _, body := rp.oidcLogout(a, url.Values{"ui_locales": {"fr"}})
	for _, want := range []string{`<html lang="fr">`, "Déconnexion", "Se déconnecter", "Connecté en tant que acmejewellers.", `<form id="logout"`} {
		if !strings.Contains(body, want) {
			t.Errorf("French confirmation page (%d) lacks %q", status, want)
		}
	}
	if strings.Contains(body, "Sign out") {
		t.Errorf("French confirmation page has English text")
	}
	_, fields := webtest.Form(body)
	if fields.Get("ui_locales") != "fr" {
		t.Fatalf("the confirmation form drops ui_locales: %v", fields)
	}
	status, _, body = a.Submit(rp.base, body, nil)
	if status != http.StatusOK || !strings.Contains(body, "Vous êtes déconnecté.") || !strings.Contains(body, `<html lang="fr">`) {
		t.Errorf("French signed-out page: %d\n%s", status, body)
	}
	rp.signedOut("after the French logout", a)
}
