package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/respond"
	"github.com/latchkey-dev/latchkey/internal/server"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// callbackSite serves the demo data with the demo callback on or off and
// returns its base URL, also its issuer.
func callbackSite(t *testing.T, on bool) string {
	t.Helper()
	d := demoserver.Start(t, demoserver.Options{}) // for its store with the demo rows
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	srv, err := server.New(server.Options{Store: d.Store, Keys: d.Keys, Issuer: ts.URL, Logger: slog.New(slog.DiscardHandler),
		DemoCallback: on})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", srv)
	return ts.URL
}

var exchangeArea = regexp.MustCompile(`(?s)<textarea id="exchange"[^>]*>(.*?)</textarea>`)

// shellArgs runs command in sh with curl replaced by a function that
// prints its arguments, and returns them: what a shell makes of the
// command when it is pasted.
func shellArgs(t *testing.T, command string) []string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh")
	}
	out, err := exec.Command(sh, "-c", `curl() { printf '%s\0' "$@"; }`+"\n"+command, "sh").Output()
	if err != nil {
		t.Fatalf("sh ran %q: %v", command, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// wantExchange is the argument list of the page's curl command for code.
func wantExchange(base, code string) []string {
	return []string{"-s", "-d", "grant_type=authorization_code", "--data-urlencode", "client_id=" + demo.SPAClientID,
		"--data-urlencode", "redirect_uri=" + demo.SPARedirectURI, "--data-urlencode", "code_verifier=" + demo.PKCEVerifier,
		"--data-urlencode", "code=" + code, base + "/oauth2/token"}
}

// TestDemoCallbackPage: the demo client's redirect URI answers a page with
// the code, the state and a curl command that redeems the code; hostile
// values are escaped for the page and quoted for the shell.
func TestDemoCallbackPage(t *testing.T) {
	base := callbackSite(t, true)
	a := webtest.NewAgent(t)
	hostile := `x'"<script>alert(1)</script>$(touch pwned)` + "`id`;~&\n" + `\'`
	status, h, body := a.Get(base + "/callback?" + url.Values{"code": {hostile}, "state": {"<b>st</b>"}}.Encode())
	if status != http.StatusOK || h.Get("Content-Security-Policy") != respond.PageCSP || h.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("callback page: %d %v", status, h)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "<b>") || strings.Contains(body, `"<`) {
		t.Fatalf("a value reached the page unescaped:\n%s", body)
	}
	for _, want := range []string{`<html lang="en">`, `id="title">Authorization code received<`,
		`value="` + html.EscapeString(hostile) + `"`, `value="&lt;b&gt;st&lt;/b&gt;"`, `href="/static/latchkey.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	m := exchangeArea.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no command on the page:\n%s", body)
	}
	if got, want := shellArgs(t, html.UnescapeString(m[1])), wantExchange(base, hostile); strings.Join(got, "\n|") != strings.Join(want, "\n|") {
		t.Fatalf("the shell reads the command as\n%q\nwant\n%q", got, want)
	}

	// French, as the other pages.
	req, _ := http.NewRequest(http.MethodGet, base+"/callback?code=c1", nil)
	req.Header.Set("Accept-Language", "fr-CA,fr;q=0.9")
	if _, _, body := a.Do(req); !strings.Contains(body, `<html lang="fr">`) || !strings.Contains(body, "Code d’autorisation reçu") {
		t.Errorf("French callback page:\n%s", body)
	}

	// An error response: the error and its description, no command.
	status, _, body = a.Get(base + "/callback?" + url.Values{"error": {"access_denied"},
		"error_description": {"the person <i>denied</i> the request"}, "state": {"s9"}}.Encode())
	if status != http.StatusOK || !strings.Contains(body, `id="title">Authorization failed<`) ||
		!strings.Contains(body, `<span id="error">access_denied</span>`) ||
		!strings.Contains(body, "the person &lt;i&gt;denied&lt;/i&gt; the request") || !strings.Contains(body, `value="s9"`) ||
		strings.Contains(body, "curl") {
		t.Errorf("error response page: %d\n%s", status, body)
	}

	// Nothing at all: a page that says what the address is for, not a 404.
	status, _, body = a.Get(base + "/callback")
	if status != http.StatusBadRequest || !strings.Contains(body, `id="title">No authorization response<`) || !strings.Contains(body, "demo-spa") {
		t.Errorf("empty callback: %d\n%s", status, body)
	}
}

// TestDemoCallbackOnlyWithOption: without the option the path is not served.
func TestDemoCallbackOnlyWithOption(t *testing.T) {
	base := callbackSite(t, false)
	for _, path := range []string{"/callback?code=c1&state=s1", "/signed-out?state=s1"} {
		if status, _, _ := webtest.NewAgent(t).Get(base + path); status != http.StatusNotFound {
			t.Fatalf("GET %s without DemoCallback: %d, want 404", path, status)
		}
	}
}

// TestDemoSignedOutPage: demo-spa's logout, with its registered
// post_logout_redirect_uri, ends on the demo's signed-out page.
func TestDemoSignedOutPage(t *testing.T) {
	base := callbackSite(t, true)
	a := webtest.NewAgent(t)
	q := url.Values{"client_id": {demo.SPAClientID}, "post_logout_redirect_uri": {demo.SPAPostLogoutRedirectURI}, "state": {"bye"}}
	status, h, _ := a.Get(base + "/oauth2/logout?" + q.Encode())
	if status != http.StatusSeeOther || h.Get("Location") != demo.SPAPostLogoutRedirectURI+"?state=bye" {
		t.Fatalf("logout of demo-spa: %d, Location %q", status, h.Get("Location"))
	}
	u, _ := url.Parse(h.Get("Location"))
	status, _, body := a.Get(base + u.RequestURI())
	if status != http.StatusOK || !strings.Contains(body, "You are signed out.") {
		t.Fatalf("the post-logout page: %d\n%s", status, body)
	}
}

// answerFrom makes the browser get every URL under origin from base
// instead, as if base listened at origin: the demo's redirect URI is a
// fixed address (127.0.0.1:8080) and tests never bind a fixed port. The
// answers are handed over whole, so the page's origin and its content
// policy stay those of origin.
func answerFrom(ctx context.Context, origin, base string) chromedp.Action {
	chromedp.ListenTarget(ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		go func() { // the listener must not block the event loop
			ectx := cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Target)
			resp, err := http.Get(base + strings.TrimPrefix(e.Request.URL, origin))
			if err != nil { // the page then fails to load, and the test with it
				fetch.FailRequest(e.RequestID, network.ErrorReasonConnectionRefused).Do(ectx)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var headers []*fetch.HeaderEntry
			for k, vs := range resp.Header {
				for _, v := range vs {
					headers = append(headers, &fetch.HeaderEntry{Name: k, Value: v})
				}
			}
			fetch.FulfillRequest(e.RequestID, int64(resp.StatusCode)).WithResponseHeaders(headers).
				WithBody(base64.StdEncoding.EncodeToString(body)).Do(ectx)
		}()
	})
	return fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: origin + "/*"}})
}

// TestBrowserDemoCallback follows the banner's PKCE example in the browser:
// its authorize URL, sign-in, picker and consent, then the demo callback
// page at http://127.0.0.1:8080/callback, styled and without scripts; the
// command on the page, pasted into a shell, gets tokens.
func TestBrowserDemoCallback(t *testing.T) {
	base := callbackSite(t, true)
	ctx := browser(t)
	cb, _ := url.Parse(demo.SPARedirectURI)
	run(t, ctx, answerFrom(ctx, cb.Scheme+"://"+cb.Host, base),
		chromedp.Navigate(demo.AuthorizeURL(base)),
		login("owner@astonclub.example", "correct-horse-battery"),
		chromedp.WaitVisible(`form#select-account`, chromedp.ByQuery),
		chromedp.Click(`input[name=resource_owner][value="m-1001"]`, chromedp.ByQuery),
		chromedp.Click(`form#select-account button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery),
		chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#exchange`, chromedp.ByQuery))
	var loc, title, state, command, radius string
	var scripts int
	run(t, ctx, chromedp.Location(&loc), chromedp.Text(`#title`, &title, chromedp.ByQuery),
		chromedp.Value(`#state`, &state, chromedp.ByQuery), chromedp.Value(`#exchange`, &command, chromedp.ByQuery),
		chromedp.Evaluate(`document.scripts.length`, &scripts),
		chromedp.Evaluate(`getComputedStyle(document.querySelector('main.card')).borderTopLeftRadius`, &radius))
	if !strings.HasPrefix(loc, demo.SPARedirectURI+"?") || title != "Authorization code received" || state != demo.PKCEState {
		t.Fatalf("callback page at %s: title %q, state %q", loc, title, state)
	}
	if scripts != 0 || radius != "14px" {
		t.Fatalf("callback page: %d scripts, card radius %q (the stylesheet did not apply)", scripts, radius)
	}
	shot(t, ctx, "callback")
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("redeeming the page's command needs curl")
	}
	out, err := exec.Command("sh", "-c", command).Output()
	if err != nil {
		t.Fatalf("the page's command %q: %v", command, err)
	}
	var tok map[string]any
	if err := json.Unmarshal(out, &tok); err != nil || tok["access_token"] == nil || tok["refresh_token"] == nil ||
		tok["scope"] != "openid profile email user_read" || tok["id_token"] == nil {
		t.Fatalf("the page's command answered %s (%v)", out, err)
	}
}
