package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
)

// DemoClient is the public client whose authorization responses the demo
// callback page shows, with the PKCE code_verifier the demo printed for it.
type DemoClient struct {
	ID          string // its client_id
	RedirectURI string // the redirect URI its codes are bound to; the page is served at its path
	// PostLogoutRedirectURI is where its logout returns; the signed-out
	// page is served at its path. Empty: none.
	PostLogoutRedirectURI string
	Verifier              string // the code_verifier of the demo's authorization request
}

// callbackPage is what the callback template gets.
type callbackPage struct {
	page
	Code, State                 string
	ErrorCode, ErrorDescription string
	Command                     string // the curl command that redeems Code
	Minutes                     int    // how long a code lives
}

// RouteDemoCallback serves GET on c's redirect URI path: a page showing
// the authorization response the browser brings back (the code and state,
// or the error) and a curl command that redeems the code for c, so the
// demo's PKCE example ends on a page instead of a 404. Real clients
// register their own redirect URIs; this is for the demo only.
func (h *Handler) RouteDemoCallback(mux *http.ServeMux, c DemoClient) error {
	u, err := url.Parse(c.RedirectURI)
	if err != nil || !strings.HasPrefix(u.Path, "/") {
		return fmt.Errorf("demo callback: redirect URI %q has no path", c.RedirectURI)
	}
	// Parsed here, not in New, as only a demo server has the page.
	t, err := template.New("callback").Funcs(pageFuncs()).ParseFS(templateFiles, "templates/layout.html", "templates/callback.html")
	if err != nil {
		return fmt.Errorf("parse callback page: %w", err)
	}
	if c.PostLogoutRedirectURI != "" {
		out, err := url.Parse(c.PostLogoutRedirectURI)
		if err != nil || !strings.HasPrefix(out.Path, "/") || out.Path == u.Path {
			return fmt.Errorf("demo callback: post-logout redirect URI %q has no path of its own", c.PostLogoutRedirectURI)
		}
		mux.HandleFunc("GET "+out.Path, func(w http.ResponseWriter, r *http.Request) {
			lang := pickLanguage(r, r.URL.Query().Get("ui_locales"), r.URL.Query().Get("lang"))
			h.render(w, "logout", http.StatusOK, page{Lang: lang, Title: translate(lang, "logout.title", ""), Product: h.product,
				Logo: h.logo, Done: true})
		})
	}
	mux.HandleFunc("GET "+u.Path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		lang := pickLanguage(r, q.Get("ui_locales"), q.Get("lang"))
		p := callbackPage{page: page{Lang: lang, Product: h.product, Logo: h.logo, Client: c.ID},
			Code: q.Get("code"), State: q.Get("state"), ErrorCode: q.Get("error"), ErrorDescription: q.Get("error_description"),
			Minutes: int(oauth.CodeTTL.Minutes())}
		status := http.StatusOK
		switch {
		case p.Code != "":
			p.Title = translate(lang, "callback.title", "")
			p.Command = exchangeCommand(h.core.Issuer()+"/oauth2/token", c, p.Code)
		case p.ErrorCode != "":
			p.Title = translate(lang, "callback.failed.title", "")
		default:
			p.Title = translate(lang, "callback.empty.title", "")
			status = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", respond.PageCSP)
		w.Header().Set("Cache-Control", "no-store") // the page holds a live code
		w.WriteHeader(status)
		if err := t.ExecuteTemplate(w, "layout", p); err != nil {
			h.log.ErrorContext(r.Context(), "render page", "page", "callback", "err", err)
		}
	})
	return nil
}

// exchangeCommand is a curl command that redeems code for c at tokenURL.
// Every value is quoted for a POSIX shell, because the code comes from the
// query string and may be anything; --data-urlencode sends it as it is.
func exchangeCommand(tokenURL string, c DemoClient, code string) string {
	return "curl -s -d grant_type=authorization_code" +
		" \\\n  --data-urlencode client_id=" + shellQuote(c.ID) +
		" \\\n  --data-urlencode redirect_uri=" + shellQuote(c.RedirectURI) +
		" \\\n  --data-urlencode code_verifier=" + shellQuote(c.Verifier) +
		" \\\n  --data-urlencode code=" + shellQuote(code) +
		" \\\n  " + shellQuote(tokenURL)
}

// shellQuote returns s as one POSIX shell word: as it is when it holds only
// characters no shell gives a meaning (no ~, which bash expands after =),
// otherwise in single quotes, each quote in s closed, escaped and reopened.
func shellQuote(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._:/=@%+,", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
