package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
)

// site is a running latchkey with the demo data, plus a client app whose
// redirect URI is a local callback that records what it receives.
type site struct {
	t        *testing.T
	base     string
	callback string
	got      chan url.Values
	store    storage.Storage
}

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	demoSite := demoserver.Start(t, demoserver.Options{Product: "Latchkey Demo", Dialects: []string{"paytronix", "flexiti", "aston"}})
	st, keys := demoSite.Store, demoSite.Keys
	s := &site{t: t, got: make(chan url.Values, 4), store: st, base: demoSite.URL}
	mux := http.NewServeMux()
	// Only the callback path: Chromium also asks this host for /favicon.ico.
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		s.got <- r.URL.Query()
		w.Write([]byte("<!doctype html><title>callback</title><p id=done>done</p>"))
	})
	cb := httptest.NewServer(mux)
	t.Cleanup(cb.Close)
	s.callback = cb.URL + "/callback"
	for _, c := range []storage.Client{
		{ID: "guest-web", Name: "Rewards Web", SecretHash: keys.HashClientSecret("guest-web-secret"),
			GrantTypes: []string{"authorization_code"}, Scopes: []string{"user_read", "account_read"}, DefaultScopes: []string{"user_read"},
			RedirectURIs: []string{s.callback}, AccessTokenTTL: time.Hour, MerchantID: "777777", AccountKind: storage.Guest},
	} {
		if err := st.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// browser starts a fresh headless Chromium (its own profile, so its own cookies).
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser tests need Debian's chromium: apt-get install -y chromium (.ci/run installs it)")
	}
	// The profile is removed after Chromium exits; t.TempDir would race its last writes.
	profile, err := os.MkdirTemp("", "latchkey-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile), chromedp.WindowSize(900, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		// Redirect URIs of the seeds name public hosts: resolve nothing but
		// loopback, so the browser never sends traffic off this machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc(); os.RemoveAll(profile) })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// shot saves a screenshot into $LATCHKEY_SCREENSHOTS when it is set (used to refresh docs/img).
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("LATCHKEY_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	run(t, ctx, chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// received waits for the callback to be called.
func (s *site) received() url.Values {
	s.t.Helper()
	select {
	case q := <-s.got:
		return q
	case <-time.After(30 * time.Second):
		s.t.Fatal("the client's redirect URI was never called")
		return nil
	}
}

func (s *site) authorizeURL(client string, extra url.Values) string {
	q := url.Values{"client_id": {client}, "response_type": {"code"}, "redirect_uri": {s.callback}, "state": {"st-42"}}
	for k, v := range extra {
		q[k] = v
	}
	return s.base + "/oauth2/authorize?" + q.Encode()
}

func login(user, pass string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.WaitVisible(`form#login`, chromedp.ByQuery),
		chromedp.SendKeys(`form#login input[name=username]`, user, chromedp.ByQuery),
		chromedp.SendKeys(`form#login input[name=password]`, pass, chromedp.ByQuery),
		chromedp.Click(`form#login button[type=submit]`, chromedp.ByQuery),
	}
}

func pkce() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// demoCallback is the redirect URI of the public demo client demo-spa.
const demoCallback = "http://127.0.0.1:8080/callback"

// capture records the query of every request the browser makes to the
// redirect URI prefix; nothing needs to listen there.
func capture(ctx context.Context, prefix string) <-chan url.Values {
	got := make(chan url.Values, 4)
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(e.Request.URL, prefix+"?") {
			if u, err := url.Parse(e.Request.URL); err == nil {
				got <- u.Query()
			}
		}
	})
	return got
}

func waitFor(t *testing.T, got <-chan url.Values) url.Values {
	t.Helper()
	select {
	case q := <-got:
		return q
	case <-time.After(30 * time.Second):
		t.Fatal("the browser was never sent to the redirect URI")
		return nil
	}
}

// TestBrowserPKCEPickerConsent: the public demo client with PKCE; a staff
// member signs in, picks one of three businesses and allows the app; the
// code is exchanged with x/oauth2. A second round skips the consent page.
func TestBrowserPKCEPickerConsent(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	got := capture(ctx, demoCallback)
	verifier, challenge := pkce()
	start := s.base + "/oauth2/authorize?" + url.Values{"client_id": {"demo-spa"}, "response_type": {"code"},
		"redirect_uri": {demoCallback}, "state": {"st-42"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
		"scope": {"user_read account_read"}}.Encode()
	run(t, ctx, chromedp.Navigate(start))
	shot(t, ctx, "login")
	run(t, ctx, login("owner@astonclub.example", "correct-horse-battery"),
		chromedp.WaitVisible(`form#select-account`, chromedp.ByQuery))
	var radios []string
	run(t, ctx, chromedp.Evaluate(`[...document.querySelectorAll('form#select-account input[name=resource_owner]')].map(e => e.value)`, &radios))
	if strings.Join(radios, ",") != "m-1001,m-1002,o-2001" {
		t.Fatalf("picker offers %v", radios)
	}
	shot(t, ctx, "picker")
	run(t, ctx, chromedp.Click(`input[name=resource_owner][value="m-1002"]`, chromedp.ByQuery),
		chromedp.Click(`form#select-account button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery))
	var text string
	run(t, ctx, chromedp.Text(`form#consent`, &text, chromedp.ByQuery))
	if !strings.Contains(text, "See your loyalty account") || !strings.Contains(text, "owner@astonclub.example") {
		t.Fatalf("consent page does not describe the scopes and account: %q", text)
	}
	shot(t, ctx, "consent")
	run(t, ctx, chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery))
	q := waitFor(t, got)
	if q.Get("state") != "st-42" || q.Get("iss") != s.base || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	cfg := oauth2.Config{ClientID: "demo-spa", RedirectURL: demoCallback,
		Endpoint: oauth2.Endpoint{TokenURL: s.base + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	at, err := s.store.GetAccessToken(context.Background(), secrets.TokenID(tok.AccessToken))
	if err != nil || at.Owner != (storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "m-1002"}) {
		t.Fatalf("token acts for %+v (%v), want merchant m-1002", at.Owner, err)
	}

	// A second authorization in the same browser: signed in, consent remembered.
	run(t, ctx, chromedp.Navigate(start), chromedp.WaitVisible(`form#select-account`, chromedp.ByQuery),
		chromedp.Click(`input[name=resource_owner][value="m-1002"]`, chromedp.ByQuery),
		chromedp.Click(`form#select-account button[type=submit]`, chromedp.ByQuery))
	if q := waitFor(t, got); q.Get("code") == "" {
		t.Fatalf("remembered consent did not skip the consent page: %v", q)
	}
}

func TestBrowserDeny(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.authorizeURL("guest-web", nil)), login("johndoe", "open456"),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery),
		chromedp.Click(`form#consent button[name=decision][value=deny]`, chromedp.ByQuery))
	q := s.received()
	if q.Get("error") != "access_denied" || q.Get("state") != "st-42" || q.Get("code") != "" {
		t.Fatalf("deny callback %v", q)
	}
}

// TestBrowserGuestFrench: a guest of the client's merchant signs in on the
// French pages and gets a code for their own account.
func TestBrowserGuestFrench(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	var lang, button string
	run(t, ctx, chromedp.Navigate(s.authorizeURL("guest-web", url.Values{"ui_locales": {"fr-CA fr"}})),
		chromedp.WaitVisible(`form#login`, chromedp.ByQuery),
		chromedp.AttributeValue(`html`, "lang", &lang, nil, chromedp.ByQuery),
		chromedp.Text(`form#login button`, &button, chromedp.ByQuery))
	if lang != "fr" || button != "Se connecter" {
		t.Fatalf("French login page: lang %q button %q", lang, button)
	}
	// A wrong password shows the error next to the fields, in French.
	run(t, ctx, login("johndoe", "wrong-password"), chromedp.WaitVisible(`#login-error`, chromedp.ByQuery))
	var msg string
	run(t, ctx, chromedp.Text(`#login-error`, &msg, chromedp.ByQuery))
	if !strings.Contains(msg, "incorrect") {
		t.Fatalf("error %q", msg)
	}
	// The username stays filled in; the password field comes back empty.
	run(t, ctx, login("", "open456"),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery), chromedp.Text(`form#consent button[value=allow]`, &button, chromedp.ByQuery))
	if button != "Autoriser" {
		t.Fatalf("French consent button %q", button)
	}
	shot(t, ctx, "consent-fr")
	run(t, ctx, chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery))
	q := s.received()
	code, err := s.store.GetAuthCode(context.Background(), secrets.TokenID(q.Get("code")))
	if err != nil || code.Owner.Type != storage.OwnerGuest || code.ClientID != "guest-web" {
		t.Fatalf("guest code %+v %v", code, err)
	}
}

// TestBrowserErrorPage: an unregistered redirect URI shows a page, never a redirect.
func TestBrowserErrorPage(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	var text string
	run(t, ctx, chromedp.Navigate(s.base+"/oauth2/authorize?client_id=guest-web&response_type=code&redirect_uri=https://evil.example/cb"),
		chromedp.WaitVisible(`h1`, chromedp.ByQuery), chromedp.Text(`main`, &text, chromedp.ByQuery))
	if !strings.Contains(text, "redirect_uri is not registered") {
		t.Fatalf("error page text %q", text)
	}
	shot(t, ctx, "error")
}

// postJSON sends a JSON body and decodes the JSON answer.
func postJSON(t *testing.T, u, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
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

// TestBrowserPaytronixGuestSSO follows seed 001 in the browser: guest login
// on /guest/accountlogin, redirect with code, expires_in=300 and state, then
// requestGuestToken with the code.
func TestBrowserPaytronixGuestSSO(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	got := capture(ctx, "https://www.myawesomewebsite.com/login")
	run(t, ctx, chromedp.Navigate(s.base+"/guest/accountlogin?response_type=code&client_id=awesomesite&redirect_uri=https%3A%2F%2Fwww.myawesomewebsite.com%2Flogin&state=pt-1"),
		login("johndoe", "open456"))
	q := waitFor(t, got)
	if q.Get("code") == "" || q.Get("expires_in") != "300" || q.Get("state") != "pt-1" {
		t.Fatalf("redirect query %v", q)
	}
	res := postJSON(t, s.base+"/oauth/requestGuestToken.json", `{"authentication":"anonymous","client_id":"awesomesite",
"client_secret":"awesomesite-demo-secret","merchantId":777777,"grant_type":"authorization_code","code":"`+q.Get("code")+`",
"redirect_uri":"https://www.myawesomewebsite.com/login"}`)
	if res["result"] != "success" || res["username"] != "johndoe" {
		t.Fatalf("requestGuestToken with the code: %v", res)
	}
}

// TestBrowserAstonMerchantAndOrganization follows seed 003 in the browser:
// the owner of two merchants picks one; then the organization flow.
func TestBrowserAstonMerchantAndOrganization(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	got := capture(ctx, "https://youwebapp.com/oauth")
	run(t, ctx, chromedp.Navigate(s.base+"/authorize/merchant?client_id=test_client&response_type=code&redirect_uri=https://youwebapp.com/oauth&scope=posapi&state=xyz"),
		login("owner@astonclub.example", "correct-horse-battery"), chromedp.WaitVisible(`form#select-account`, chromedp.ByQuery))
	var radios []string
	run(t, ctx, chromedp.Evaluate(`[...document.querySelectorAll('form#select-account input[name=resource_owner]')].map(e => e.value)`, &radios))
	if strings.Join(radios, ",") != "m-1001,m-1002" {
		t.Fatalf("merchant picker offers %v", radios)
	}
	run(t, ctx, chromedp.Click(`input[name=resource_owner][value="m-1001"]`, chromedp.ByQuery),
		chromedp.Click(`form#select-account button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery),
		chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery))
	exchange := func(q url.Values, ownerType string) {
		t.Helper()
		if q.Get("grant_type") != "authorization_code" || q.Get("state") != "xyz" || q.Get("code") == "" {
			t.Fatalf("redirect query %v", q)
		}
		res := postJSON(t, s.base+"/v1/token", `{"grant_type":"authorization_code","code":"`+q.Get("code")+`","client_id":"test_client",
"redirect_uri":"https://youwebapp.com/oauth","client_secret":"asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj"}`)
		if res["resource_owner_type"] != ownerType || res["access_token"] == nil {
			t.Fatalf("/v1/token: %v", res)
		}
	}
	exchange(waitFor(t, got), "merchant")
	// The organization flow in the same browser: signed in, one organization, so no picker.
	run(t, ctx, chromedp.Navigate(s.base+"/authorize/organization?client_id=test_client&response_type=code&redirect_uri=https://youwebapp.com/oauth&scope=aston-api:transaction.read%20aston-api:transaction.submit&state=xyz"),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery),
		chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery))
	exchange(waitFor(t, got), "organization")
}
