// Package web serves the pages a person sees during an authorization:
// login, account picker, consent, errors and logout. The pages are
// server-rendered, work without JavaScript, come in English and French, and
// keep stable hooks (form ids and field names) for scripts and assistive
// technology. Every protocol decision is the oauth core's; this package only
// asks it questions and renders the answers.
package web

import (
	"context"
	"crypto/hmac"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Store is the part of storage the pages use: browser sessions, the
// accounts they sign in, and merchants' names for the login page.
type Store interface {
	storage.Sessions
	storage.Accounts
	storage.Merchants
}

// Options configure the pages.
type Options struct {
	Core    *oauth.Server
	Store   Store
	Keys    *secrets.Keys
	Logger  *slog.Logger
	Product string // the product name on every page; "latchkey" when empty
	LogoURL string // optional logo shown instead of the initial
	Now     func() time.Time
}

// Handler serves the pages.
type Handler struct {
	core    *oauth.Server
	store   Store
	keys    *secrets.Keys
	log     *slog.Logger
	product string
	logo    string
	secure  bool // cookies are Secure when the issuer is https
	now     func() time.Time
	pages   map[string]*template.Template
}

// New parses the templates and builds the handler.
func New(o Options) (*Handler, error) {
	h := &Handler{core: o.Core, store: o.Store, keys: o.Keys, log: o.Logger, product: o.Product, logo: o.LogoURL, now: o.Now,
		secure: strings.HasPrefix(o.Core.Issuer(), "https://"), pages: map[string]*template.Template{}}
	if h.product == "" {
		h.product = "latchkey"
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	funcs := pageFuncs()
	for _, name := range []string{"login", "picker", "consent", "error", "logout", "device"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse %s page: %w", name, err)
		}
		h.pages[name] = t
	}
	return h, nil
}

// pageFuncs are the templates' translation functions.
func pageFuncs() template.FuncMap {
	return template.FuncMap{
		"t":  func(lang, key string) string { return translate(lang, key, key) },
		"tf": func(lang, key string, args ...any) string { return fmt.Sprintf(translate(lang, key, key), args...) },
	}
}

// Routes registers the pages on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /oauth2/authorize", h.Authorize)
	mux.HandleFunc("POST /oauth2/authorize", h.Authorize)
	mux.HandleFunc("GET /logout", h.logout)
	mux.HandleFunc("POST /logout", h.logout)
	mux.HandleFunc("GET "+oauth.EndSessionPath, h.endSession)
	mux.HandleFunc("POST "+oauth.EndSessionPath, h.endSession)
	mux.HandleFunc("GET "+oauth.DevicePath, h.Device)
	mux.HandleFunc("POST "+oauth.DevicePath, h.Device)
	static, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})))
}

// page is what a template gets.
type page struct {
	Lang, Title, Product, Logo string
	Action                     string
	Hidden                     [][2]string
	CSRF                       string
	Error                      string
	Client, Merchant           string
	Username                   string
	Choices                    []choice
	Owner, OwnerName, Account  string
	Scopes                     []string
	ConsentSig                 string // binds the consent form to what its page showed
	Done                       bool
	UserCode                   string // the device's user code: the device page's field, the consent page's warning
	Message                    string // the device page's outcome
}

type choice struct{ ID, Name, Type string }

// formFields are the fields the pages add; everything else is the authorization request.
var formFields = []string{"action", "csrf_token", "username", "password", "resource_owner", "owner", "decision", "consent_sig"}

// flow is one pass through an authorization: the request, the page state
// carried in hidden fields, and what was decided so far.
type flow struct {
	w      http.ResponseWriter
	r      *http.Request
	req    oauth.AuthorizeRequest
	params url.Values // the authorization request as received
	lang   string
	csrf   string
	action string // the form that was posted, if any

	// What the steps of run settled, each set once its step passes.
	account  storage.Account   // who is signed in
	authTime time.Time         // when they signed in
	owner    oauth.OwnerChoice // whom the app acts for

	// device is the device authorization the flow approves, when it runs
	// on the device page: it ends on a page, never with a redirect.
	device *oauth.DeviceRequest
}

// Authorize serves the authorization endpoint (GET and POST), and the
// dialects' authorization pages through AuthorizeWith.
func (h *Handler) Authorize(w http.ResponseWriter, r *http.Request) {
	h.AuthorizeWith(w, r, r.URL.Path, oauth.AuthorizeProfile{})
}

// AuthorizePage serves a dialect's authorization page at path: the
// standard flow with the dialect's profile (see oauth.AuthorizeProfile).
func (h *Handler) AuthorizePage(path string, profile oauth.AuthorizeProfile) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h.AuthorizeWith(w, r, path, profile) }
}

// AuthorizeWith runs the authorization flow with action as the forms'
// target and the page's profile.
func (h *Handler) AuthorizeWith(w http.ResponseWriter, r *http.Request, action string, profile oauth.AuthorizeProfile) {
	ctx := r.Context()
	w.Header().Set("Content-Security-Policy", respond.PageCSP)
	w.Header().Set("Cache-Control", "no-store")
	params, ok := h.requestParams(w, r)
	if !ok {
		return
	}
	f := &flow{w: w, r: r, params: url.Values{}, action: params.Get("action")}
	for k, v := range params {
		if !slices.Contains(formFields, k) {
			f.params[k] = v
		}
	}
	f.lang = pickLanguage(r, f.params.Get("ui_locales"), f.params.Get("lang"))
	req, aerr := h.core.ParseAuthorize(ctx, f.params, profile)
	if aerr != nil {
		if !aerr.Redirect {
			status := http.StatusBadRequest
			if aerr.Status >= http.StatusInternalServerError { // the database failed: not the request's fault
				status = aerr.Status
				oauth.SetErrorHeaders(w, aerr.Error)
			}
			h.errorPage(w, r, f.lang, status, aerr.Description)
			return
		}
		h.redirect(w, r, h.core.ErrorRedirect(req, aerr.Error))
		return
	}
	f.req = req
	f.csrf = h.csrfToken(w, r)
	if r.Method == http.MethodPost && !h.checkCSRF(r) {
		f.action = ""
		h.renderLogin(f, action, translate(f.lang, "error.expired", ""), http.StatusBadRequest)
		return
	}
	h.run(ctx, f, action)
}

// run walks the steps: who is signed in, whom the app acts for, and whether
// the person agrees; each step renders its page when it needs the person,
// and says whether the flow goes on. Then the code is issued.
func (h *Handler) run(ctx context.Context, f *flow, action string) {
	if h.signIn(ctx, f, action) && h.chooseOwner(ctx, f, action) && h.consent(ctx, f, action) {
		if f.device != nil {
			h.approveDevice(ctx, f)
			return
		}
		h.issueCode(ctx, f)
	}
}

// signIn settles the account: the login form just posted, or the browser's
// session. Without a fitting session it shows the login page.
func (h *Handler) signIn(ctx context.Context, f *flow, action string) bool {
	if f.action == "login" {
		return h.login(ctx, f, action)
	}
	s, a, err := h.session(ctx, f.r)
	if err != nil {
		h.fail(f, "load session", err)
		return false
	}
	if why := h.loginNeeded(f, s, a); why != "" {
		if f.req.HasPrompt("none") {
			h.redirect(f.w, f.r, h.core.ErrorRedirect(f.req, oauth.PromptNone(oauth.ErrLoginRequired, why)))
			return false
		}
		h.renderLogin(f, action, "", http.StatusOK)
		return false
	}
	f.account, f.authTime = *a, s.AuthTime
	return true
}

// loginNeeded says why the browser's session cannot serve the request, or
// "" when it can: none, an account the client does not log in, prompt=login,
// a sign-in older than max_age, or another person than id_token_hint names.
func (h *Handler) loginNeeded(f *flow, s *storage.Session, a *storage.Account) string {
	switch {
	case s == nil:
		return "the person is not signed in"
	case !oauth.AccountFits(f.req, *a):
		return "the person signed in cannot use this application"
	case f.req.HasPrompt("login"):
		return "a new sign-in was asked"
	case f.req.SignInTooOld(s.AuthTime, h.now()):
		return "the sign-in is older than max_age allows"
	case f.req.Hint.Subject != "" && f.req.Hint.Subject != a.ID:
		return "another person than id_token_hint names is signed in"
	}
	return ""
}

// login checks the posted username and password and signs the account in
// on this browser; a failure shows the login page again.
func (h *Handler) login(ctx context.Context, f *flow, action string) bool {
	a, oerr := h.core.Login(ctx, f.req.Client, strings.TrimSpace(f.r.PostForm.Get("username")), f.r.PostForm.Get("password"), oauth.RemoteIP(f.r))
	if oerr != nil {
		h.renderLogin(f, action, h.loginError(f.lang, oerr, f.r.PostForm), oerr.Status)
		return false
	}
	if !oauth.AccountFits(f.req, a) {
		h.renderLogin(f, action, translate(f.lang, "login.failed", ""), http.StatusBadRequest)
		return false
	}
	s, err := h.startSession(ctx, f.w, f.r, a)
	if err == nil && f.req.Hint.Subject != "" && f.req.Hint.Subject != a.ID {
		// Signed in, but not as the person the client expects: the client
		// is told so rather than handed someone else (OpenID Connect Core §3.1.2.1).
		h.redirect(f.w, f.r, h.core.ErrorRedirect(f.req, oauth.Errorf(http.StatusBadRequest, oauth.ErrLoginRequired,
			"the person who signed in is not the one id_token_hint names")))
		return false
	}
	if err != nil {
		h.fail(f, "start session", err)
		return false
	}
	f.account, f.authTime = a, s.AuthTime
	// Satisfied by this very login: the next forms of the flow must not ask again.
	f.dropPrompt("login")
	f.req.MaxAge, f.req.Hint = -1, oauth.IDTokenHint{}
	f.params.Del("max_age")
	f.params.Del("id_token_hint")
	return true
}

// chooseOwner settles whom the app will act for: the choice posted, or the
// only one there is; otherwise it shows the picker.
func (h *Handler) chooseOwner(ctx context.Context, f *flow, action string) bool {
	choices, err := h.core.OwnerChoices(ctx, f.req, f.account)
	if err != nil {
		h.fail(f, "list resource owners", err)
		return false
	}
	if len(choices) == 0 {
		if f.device != nil {
			h.deviceOutcome(f, http.StatusForbidden, "device.failed.title", "device.noowner")
			return false
		}
		h.redirect(f.w, f.r, h.core.ErrorRedirect(f.req, oauth.AccessDenied("the account has no merchant or organization this application may act for")))
		return false
	}
	picked := f.r.PostForm.Get("resource_owner")
	if f.action == "consent" {
		picked = f.r.PostForm.Get("owner")
	}
	owner, ok := pick(choices, picked)
	if !ok {
		switch {
		case len(choices) == 1 && !f.req.HasPrompt("select_account"):
			owner = choices[0]
		case f.req.HasPrompt("none"):
			h.redirect(f.w, f.r, h.core.ErrorRedirect(f.req, oauth.PromptNone(oauth.ErrAccountSelectionRequired, "an account must be chosen")))
			return false
		default:
			msg := ""
			if f.action == "select" {
				msg = translate(f.lang, "picker.missing", "")
			}
			h.renderPicker(f, action, choices, msg)
			return false
		}
	}
	f.owner = owner
	f.dropPrompt("select_account")
	return true
}

// consent settles whether the person agrees: the decision just posted, or
// a consent already given. Otherwise it shows the consent page.
func (h *Handler) consent(ctx context.Context, f *flow, action string) bool {
	if f.action == "consent" {
		return h.decide(ctx, f)
	}
	if f.device != nil { // always asked: the page is where the person confirms the device
		h.renderConsent(f, action, f.account, f.owner)
		return false
	}
	need, err := h.core.NeedsConsent(ctx, f.req, f.account, f.owner.Owner)
	if err != nil {
		h.fail(f, "check consent", err)
		return false
	}
	if need {
		if f.req.HasPrompt("none") {
			h.redirect(f.w, f.r, h.core.ErrorRedirect(f.req, oauth.PromptNone(oauth.ErrConsentRequired, "the person has not approved this application")))
			return false
		}
		h.renderConsent(f, action, f.account, f.owner)
		return false
	}
	return true
}

// decide acts on the posted consent form: a denial goes back to the app,
// an approval is remembered unless the client skips consent. The form
// carries the request in hidden fields, so an approval counts only for
// what the page showed: a form whose scopes, owner or client were changed
// since is refused, granting nothing.
func (h *Handler) decide(ctx context.Context, f *flow) bool {
	if f.r.PostForm.Get("decision") != "allow" {
		if f.device != nil {
			h.denyDevice(ctx, f)
			return false
		}
		h.redirect(f.w, f.r, h.core.ErrorRedirect(f.req, oauth.AccessDenied("the person denied the request")))
		return false
	}
	want := h.consentSig(f, f.account, f.owner)
	if !hmac.Equal([]byte(want), []byte(f.r.PostForm.Get("consent_sig"))) {
		h.log.WarnContext(ctx, "consent form changed after it was shown; nothing granted", "client_id", f.req.Client.ID)
		h.errorPage(f.w, f.r, f.lang, http.StatusBadRequest, translate(f.lang, "consent.changed", ""))
		return false
	}
	if !f.req.Client.SkipConsent && f.device == nil { // a device is approved once, never remembered
		if err := h.core.RememberConsent(ctx, f.req, f.account, f.owner.Owner); err != nil {
			h.fail(f, "remember consent", err)
			return false
		}
	}
	return true
}

// issueCode ends the flow: it sends the browser back to the app with a code.
func (h *Handler) issueCode(ctx context.Context, f *flow) {
	to, err := h.core.IssueCode(ctx, f.req, f.account, f.owner.Owner, f.authTime)
	if err != nil {
		h.fail(f, "issue authorization code", err)
		return
	}
	h.redirect(f.w, f.r, to)
}

// pick finds the posted choice: a bare id (the picker's radio value) or type:id (the consent form's hidden field).
func pick(choices []oauth.OwnerChoice, posted string) (oauth.OwnerChoice, bool) {
	if posted == "" {
		return oauth.OwnerChoice{}, false
	}
	for _, c := range choices {
		if posted == c.Owner.ID || posted == string(c.Owner.Type)+":"+c.Owner.ID {
			return c, true
		}
	}
	return oauth.OwnerChoice{}, false
}

// dropPrompt removes a prompt value the flow has satisfied, so the next form does not ask again.
func (f *flow) dropPrompt(p string) {
	f.req.Prompt = slices.DeleteFunc(f.req.Prompt, func(x string) bool { return x == p })
	if len(f.req.Prompt) == 0 {
		f.params.Del("prompt")
	} else {
		f.params.Set("prompt", strings.Join(f.req.Prompt, " "))
	}
}

func (h *Handler) loginError(lang string, e *oauth.Error, form url.Values) string {
	switch {
	case e.Status == http.StatusTooManyRequests:
		return translate(lang, "login.throttled", "")
	case e.Status == http.StatusServiceUnavailable:
		return translate(lang, "login.busy", "")
	case e.Code == oauth.ErrInvalidRequest && (form.Get("username") == "" || form.Get("password") == ""):
		return translate(lang, "login.missing", "")
	case e.Code == oauth.ErrInvalidGrant || e.Code == oauth.ErrInvalidRequest:
		return translate(lang, "login.failed", "")
	}
	return e.Description
}

func (h *Handler) base(f *flow, action, titleKey string) page {
	p := page{Lang: f.lang, Title: translate(f.lang, titleKey, ""), Product: h.product, Logo: h.logo, Action: action,
		CSRF: f.csrf, Client: f.req.Client.Name}
	if p.Client == "" {
		p.Client = f.req.Client.ID
	}
	keys := make([]string, 0, len(f.params))
	for k := range f.params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p.Hidden = append(p.Hidden, [2]string{k, f.params.Get(k)})
	}
	return p
}

func (h *Handler) renderLogin(f *flow, action, msg string, status int) {
	p := h.base(f, action, "login.title")
	p.Error = msg
	p.Username = f.req.LoginHint
	if f.action == "login" {
		p.Username = f.r.PostForm.Get("username")
	}
	if f.req.Client.AccountKind != storage.Staff && f.req.Client.MerchantID != "" {
		if m, err := h.store.GetMerchant(f.r.Context(), f.req.Client.MerchantID); err == nil {
			p.Merchant = m.Name
		}
	}
	h.render(f.w, "login", status, p)
}

func (h *Handler) renderPicker(f *flow, action string, choices []oauth.OwnerChoice, msg string) {
	p := h.base(f, action, "picker.title")
	p.Error = msg
	for _, c := range choices {
		p.Choices = append(p.Choices, choice{ID: c.Owner.ID, Name: c.Name, Type: string(c.Owner.Type)})
	}
	h.render(f.w, "picker", http.StatusOK, p)
}

func (h *Handler) renderConsent(f *flow, action string, a storage.Account, owner oauth.OwnerChoice) {
	p := h.base(f, action, "consent.title")
	p.Owner, p.OwnerName, p.Account = string(owner.Owner.Type)+":"+owner.Owner.ID, owner.Name, a.Username
	if owner.Owner.Type == storage.OwnerGuest {
		p.OwnerName = translate(f.lang, "consent.you", "your account")
	}
	for _, sc := range f.req.Scopes {
		p.Scopes = append(p.Scopes, translate(f.lang, "scope."+sc, sc))
	}
	p.ConsentSig = h.consentSig(f, a, owner)
	if f.device != nil {
		p.UserCode = f.device.UserCode
	}
	h.render(f.w, "consent", http.StatusOK, p)
}

// consentSig signs what the consent page shows, the client, the owner and
// the scopes, for the account signed in on this browser (the CSRF token
// stands for the browser), under a key derived from the system secret.
func (h *Handler) consentSig(f *flow, a storage.Account, owner oauth.OwnerChoice) string {
	shown, _ := json.Marshal(append([]string{f.csrf, a.ID, f.req.Client.ID, string(owner.Owner.Type), owner.Owner.ID}, f.req.Scopes...))
	if f.device != nil { // and the device's user code, under a label of its own
		shown, _ = json.Marshal([]any{f.device.UserCode, f.device.Code.ID, json.RawMessage(shown)})
		return h.keys.MAC("device-consent", shown)
	}
	return h.keys.MAC("consent", shown)
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, lang string, status int, msg string) {
	h.render(w, "error", status, page{Lang: lang, Title: translate(lang, "error.title", ""), Product: h.product, Logo: h.logo, Error: msg})
}

func (h *Handler) render(w http.ResponseWriter, name string, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", respond.PageCSP)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := h.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		h.log.Error("render page", "page", name, "err", err)
	}
}

// fail answers a storage failure (every error that reaches it is one) as the
// core answers its own: a 503 page with Retry-After, logged by the core at
// most once per interval with the count of failures.
func (h *Handler) fail(f *flow, what string, err error) {
	e := h.core.StorageFailed(f.r.Context(), what, err)
	f.w.Header().Set("Retry-After", fmt.Sprint(int64((e.RetryAfter+time.Second-1)/time.Second)))
	h.errorPage(f.w, f.r, f.lang, e.Status, "the server could not complete the request; please try again")
}

// requestParams are a page request's parameters: the query of a GET, the
// form of a POST (at most 64 KiB). A form that cannot be read is answered
// with the error page here.
func (h *Handler) requestParams(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), true
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, pickLanguage(r, "", ""), http.StatusBadRequest, "the form could not be read")
		return nil, false
	}
	return maps.Clone(r.PostForm), true
}

// redirect sends the browser on; 303 so a POST becomes a GET.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	lang := pickLanguage(r, r.URL.Query().Get("ui_locales"), r.URL.Query().Get("lang"))
	p := page{Lang: lang, Title: translate(lang, "logout.title", ""), Product: h.product, Logo: h.logo, CSRF: h.csrfToken(w, r),
		Action: "/logout"}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if r.ParseForm() != nil || !h.checkCSRF(r) {
			h.errorPage(w, r, lang, http.StatusBadRequest, translate(lang, "error.expired", ""))
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil && h.keys.CheckToken(secrets.SessionKind, c.Value) {
			if err := h.store.DeleteSession(r.Context(), secrets.TokenID(c.Value)); err != nil && !errors.Is(err, storage.ErrNotFound) {
				h.log.ErrorContext(r.Context(), "delete session", "err", err)
			}
		}
		http.SetCookie(w, h.cookie(sessionCookie, "", -time.Second))
		p.Done = true
	}
	h.render(w, "logout", http.StatusOK, p)
}

// endSessionFields are the parameters of RP-initiated logout that the
// confirmation form carries on.
var endSessionFields = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"}

// endSession serves OpenID Connect RP-Initiated Logout at
// oauth.EndSessionPath. The core validates the request; the browser's
// session ends without a question when id_token_hint names the person
// signed in, and after a confirmation form (with CSRF) otherwise, so a
// link on another site cannot sign anyone out. Then the browser goes back
// to the client's registered post_logout_redirect_uri, or sees a page.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	params, ok := h.requestParams(w, r)
	if !ok {
		return
	}
	lang := pickLanguage(r, params.Get("ui_locales"), params.Get("lang"))
	q := url.Values{}
	for _, k := range endSessionFields {
		if vs, ok := params[k]; ok {
			q[k] = vs
		}
	}
	es, oerr := h.core.ParseEndSession(ctx, q)
	if oerr != nil {
		if oerr.Status >= http.StatusInternalServerError {
			oauth.SetErrorHeaders(w, oerr)
		}
		h.errorPage(w, r, lang, oerr.Status, oerr.Description)
		return
	}
	confirmed := false
	if r.Method == http.MethodPost && params.Get("action") == "logout" {
		if !h.checkCSRF(r) {
			h.errorPage(w, r, lang, http.StatusBadRequest, translate(lang, "error.expired", ""))
			return
		}
		confirmed = true
	}
	s, a, err := h.session(ctx, r)
	if err != nil {
		e := h.core.StorageFailed(ctx, "load session", err)
		oauth.SetErrorHeaders(w, e)
		h.errorPage(w, r, lang, e.Status, "the server could not complete the request; please try again")
		return
	}
	if s != nil && !confirmed && (es.Hint.Subject == "" || es.Hint.Subject != a.ID) {
		p := page{Lang: lang, Title: translate(lang, "logout.title", ""), Product: h.product, Logo: h.logo,
			CSRF: h.csrfToken(w, r), Action: oauth.EndSessionPath, Username: a.Username}
		for _, k := range endSessionFields {
			if v := q.Get(k); v != "" {
				p.Hidden = append(p.Hidden, [2]string{k, v})
			}
		}
		h.render(w, "logout", http.StatusOK, p)
		return
	}
	if s != nil {
		if err := h.store.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			e := h.core.StorageFailed(ctx, "end session", err)
			oauth.SetErrorHeaders(w, e)
			h.errorPage(w, r, lang, e.Status, "the server could not complete the request; please try again")
			return
		}
		h.log.InfoContext(ctx, "signed out", "client_id", es.ClientID)
	}
	http.SetCookie(w, h.cookie(sessionCookie, "", -time.Second))
	if es.RedirectURI != "" {
		h.redirect(w, r, es.RedirectURI)
		return
	}
	h.render(w, "logout", http.StatusOK, page{Lang: lang, Title: translate(lang, "logout.title", ""), Product: h.product,
		Logo: h.logo, Done: true})
}
