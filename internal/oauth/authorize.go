package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// CodeTTL is how long an authorization code lives.
const CodeTTL = 5 * time.Minute

const (
	authorizeParamsMaxLen        = 2048
	maxStateLen                  = 1024
	promptNone, promptLogin      = "none", "login"
	promptConsent, promptAccount = "consent", "select_account"
)

// AuthorizeRequest is a validated authorization request (RFC 6749 §4.1.1).
type AuthorizeRequest struct {
	Client              storage.Client
	RedirectURI         string
	RedirectGiven       bool // redirect_uri was in the request, so the token request must repeat it
	State               string
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	Prompt              []string
	LoginHint           string
	UILocales           string
	Profile             AuthorizeProfile
	// MaxAge is OpenID Connect's max_age: a sign-in older than this must be
	// repeated. Negative when the request sets none.
	MaxAge time.Duration
	// Hint is the verified id_token_hint: who the client expects to be
	// signed in. Empty when none was sent.
	Hint IDTokenHint
}

// SignInTooOld reports whether a sign-in at authTime is older than max_age
// allows. max_age=0 asks for a new sign-in whatever the clock says, as
// prompt=login does (OpenID Connect Core §3.1.2.1).
func (r AuthorizeRequest) SignInTooOld(authTime, now time.Time) bool {
	return r.MaxAge == 0 || r.MaxAge > 0 && now.Sub(authTime) > r.MaxAge
}

// AuthorizeProfile is what an authorization page of a dialect changes in
// the flow, as data: the core applies it, the dialect only names it.
type AuthorizeProfile struct {
	// OwnerTypes limits whom a staff account may pick (empty: merchants and organizations).
	OwnerTypes []storage.OwnerType
	// RedirectParams are added to the redirect that delivers the code; they
	// never replace code, state or iss.
	RedirectParams map[string]string
}

// HasPrompt reports whether the request asked for prompt p.
func (r AuthorizeRequest) HasPrompt(p string) bool { return slices.Contains(r.Prompt, p) }

// AuthorizeError is a failed authorization request. When Redirect is
// false the client or redirect URI cannot be trusted and the error must be
// shown as a page; otherwise it goes back to the client.
type AuthorizeError struct {
	*Error
	Redirect bool
}

// ParseAuthorize validates an authorization request made on a page with
// the given profile. Unknown clients and redirect URIs that are not
// registered exactly are never redirected to.
func (s *Server) ParseAuthorize(ctx context.Context, q url.Values, profile AuthorizeProfile) (AuthorizeRequest, *AuthorizeError) {
	page := func(format string, args ...any) (AuthorizeRequest, *AuthorizeError) {
		return AuthorizeRequest{}, &AuthorizeError{Error: InvalidRequest(format, args...)}
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return page("parameter %q is given more than once", clip(k))
		}
		if len(vs[0]) > authorizeParamsMaxLen {
			return page("parameter %q is too long", clip(k))
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return page("client_id is missing")
	}
	c, err := s.store.GetClient(ctx, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return page("the application %q is not registered", clip(clientID))
	}
	if err != nil {
		return AuthorizeRequest{}, &AuthorizeError{Error: s.unavailable(ctx, "load client", err)}
	}
	redirect := q.Get("redirect_uri")
	switch {
	case redirect == "" && len(c.RedirectURIs) == 1:
		redirect = c.RedirectURIs[0] // RFC 6749 §3.1.2.3: the only registered one
	case redirect == "":
		return page("redirect_uri is missing")
	case !slices.Contains(c.RedirectURIs, redirect): // exact string match, RFC 9700 §4.1.3
		return page("the redirect_uri is not registered for this application")
	}
	req := AuthorizeRequest{Client: c, RedirectURI: redirect, RedirectGiven: q.Get("redirect_uri") != "", State: q.Get("state"), Nonce: q.Get("nonce"),
		LoginHint: q.Get("login_hint"), UILocales: q.Get("ui_locales"), Prompt: strings.Fields(q.Get("prompt")), Profile: profile,
		MaxAge: -1}
	back := func(e *Error) (AuthorizeRequest, *AuthorizeError) {
		return req, &AuthorizeError{Error: e, Redirect: true}
	}
	if len(req.State) > maxStateLen {
		req.State = ""
		return back(InvalidRequest("state is longer than %d characters", maxStateLen))
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return back(InvalidRequest("response_type is missing"))
	default:
		return back(UnsupportedResponseType("only response_type=code is supported"))
	}
	if !c.AllowsGrant(GrantAuthorizationCode) {
		return back(UnauthorizedClient("this application may not use the authorization code flow"))
	}
	for _, p := range req.Prompt {
		if !slices.Contains([]string{promptNone, promptLogin, promptConsent, promptAccount}, p) {
			return back(InvalidRequest("prompt %q is not supported", clip(p)))
		}
	}
	if req.HasPrompt(promptNone) && len(req.Prompt) > 1 {
		return back(InvalidRequest("prompt=none cannot be combined with other prompts"))
	}
	if oerr := s.parseOpenID(ctx, q, &req); oerr != nil {
		return back(oerr)
	}
	scopes, oerr := ResolveScopes(c, q.Get("scope"))
	if oerr != nil {
		return back(oerr)
	}
	req.Scopes = scopes
	req.CodeChallenge, req.CodeChallengeMethod = q.Get("code_challenge"), q.Get("code_challenge_method")
	if oerr := checkChallenge(c, &req); oerr != nil {
		return back(oerr)
	}
	return req, nil
}

// parseOpenID reads OpenID Connect's authorization parameters (Core
// §3.1.2.1). Passing a request object is not supported, and says so with
// the spec's error codes; display, acr_values and claims_locales are
// accepted and ignored, as the spec allows.
func (s *Server) parseOpenID(ctx context.Context, q url.Values, req *AuthorizeRequest) *Error {
	switch {
	case q.Has("request"):
		return Errorf(http.StatusBadRequest, ErrRequestNotSupported, "request objects are not supported")
	case q.Has("request_uri"):
		return Errorf(http.StatusBadRequest, ErrRequestURINotSupported, "request_uri is not supported")
	case q.Has("registration"):
		return Errorf(http.StatusBadRequest, ErrRegistrationNotSupported, "the registration parameter is not supported")
	}
	if m := q.Get("response_mode"); m != "" && m != "query" {
		return InvalidRequest("response_mode %q is not supported: use query", clip(m))
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxMaxAge {
			return InvalidRequest("max_age must be a number of seconds from 0 to %d", maxMaxAge)
		}
		req.MaxAge = time.Duration(n) * time.Second
	}
	if v := q.Get("id_token_hint"); v != "" {
		hint, err := s.VerifyIDTokenHint(ctx, v)
		if errors.Is(err, errBadHint) {
			return InvalidRequest("id_token_hint is not an ID token this server issued")
		}
		if err != nil {
			return s.unavailable(ctx, "check id_token_hint", err)
		}
		req.Hint = hint
	}
	return nil
}

// maxMaxAge bounds max_age at ten years, so it converts to a Duration safely.
const maxMaxAge = 10 * 365 * 24 * 3600

// checkChallenge applies RFC 7636 and the BCP: PKCE is required for public
// clients and for clients that ask for it; S256 unless plain is allowed.
func checkChallenge(c storage.Client, req *AuthorizeRequest) *Error {
	if req.CodeChallenge == "" {
		if req.CodeChallengeMethod != "" {
			return InvalidRequest("code_challenge_method was sent without code_challenge")
		}
		if c.Public() || c.RequirePKCE {
			return InvalidRequest("code_challenge is required: this application must use PKCE (S256)")
		}
		return nil
	}
	if req.CodeChallengeMethod == "" {
		req.CodeChallengeMethod = "plain" // RFC 7636 §4.3 default
	}
	switch req.CodeChallengeMethod {
	case "S256":
	case "plain":
		if !c.AllowPlainPKCE {
			return InvalidRequest("code_challenge_method must be S256")
		}
	default:
		return InvalidRequest("code_challenge_method %q is not supported: use S256", clip(req.CodeChallengeMethod))
	}
	if !validVerifier(req.CodeChallenge) {
		return InvalidRequest("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	}
	return nil
}

// ErrorRedirect is the URL that sends an error back to the client (RFC 6749 §4.1.2.1, RFC 9207).
func (s *Server) ErrorRedirect(req AuthorizeRequest, e *Error) string {
	v := url.Values{"error": {e.Code}, "error_description": {e.Description}}
	return s.redirect(req, v)
}

func (s *Server) redirect(req AuthorizeRequest, v url.Values) string {
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", s.issuer)
	u, _ := url.Parse(req.RedirectURI) // registered URIs were validated when stored
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// OwnerChoice is a party a staff account may let the client act for.
type OwnerChoice struct {
	Owner storage.ResourceOwner
	Name  string
}

// OwnerChoices lists whom the account may let the client act for: a guest
// acts for themselves; staff of a bound client for its merchant or
// organization; other staff pick among their memberships of the types the
// request allows.
func (s *Server) OwnerChoices(ctx context.Context, req AuthorizeRequest, a storage.Account) ([]OwnerChoice, error) {
	if a.Kind == storage.Guest {
		return []OwnerChoice{{Owner: storage.ResourceOwner{Type: storage.OwnerGuest, ID: a.ID}, Name: a.Username}}, nil
	}
	var out []OwnerChoice
	for _, m := range a.Memberships {
		if len(req.Profile.OwnerTypes) > 0 && !slices.Contains(req.Profile.OwnerTypes, m.Type) {
			continue
		}
		if o, bound := BoundOwner(req.Client); bound && storage.ResourceOwner(m) != o {
			continue
		}
		name := m.ID
		switch m.Type {
		case storage.OwnerMerchant:
			if mm, err := s.store.GetMerchant(ctx, m.ID); err == nil {
				name = mm.Name
			} else if !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
		case storage.OwnerOrganization:
			if o, err := s.store.GetOrganization(ctx, m.ID); err == nil {
				name = o.Name
			} else if !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
		}
		out = append(out, OwnerChoice{Owner: storage.ResourceOwner{Type: m.Type, ID: m.ID}, Name: name})
	}
	return out, nil
}

// AccountFits reports whether the account may log in to the request's
// client: the client's kind of account, and for guests its merchant.
func AccountFits(req AuthorizeRequest, a storage.Account) bool {
	kind := req.Client.AccountKind
	if kind == "" {
		kind = storage.Guest
	}
	if a.Kind != kind || a.Disabled {
		return false
	}
	return kind != storage.Guest || a.MerchantID == req.Client.MerchantID
}

// NeedsConsent reports whether the person must approve the request: not
// for first-party clients, nor when a remembered consent for the same
// owner covers every scope asked for, unless prompt=consent.
func (s *Server) NeedsConsent(ctx context.Context, req AuthorizeRequest, a storage.Account, owner storage.ResourceOwner) (bool, error) {
	if req.Client.SkipConsent {
		return false, nil
	}
	if req.HasPrompt(promptConsent) {
		return true, nil
	}
	c, err := s.store.GetConsent(ctx, a.ID, req.Client.ID, owner)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, sc := range req.Scopes {
		if !slices.Contains(c.Scopes, sc) {
			return true, nil
		}
	}
	return false, nil
}

// RememberConsent records an approval, keeping scopes approved before.
func (s *Server) RememberConsent(ctx context.Context, req AuthorizeRequest, a storage.Account, owner storage.ResourceOwner) error {
	scopes := slices.Clone(req.Scopes)
	old, err := s.store.GetConsent(ctx, a.ID, req.Client.ID, owner)
	switch {
	case err == nil:
		for _, sc := range old.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("load consent: %w", err) // saving now would forget scopes approved before
	}
	if err := s.store.SaveConsent(ctx, storage.Consent{AccountID: a.ID, ClientID: req.Client.ID, Owner: owner, Scopes: scopes, GrantedAt: s.now()}); err != nil {
		return err
	}
	ev := storage.AuditEvent{Type: AuditConsentGiven, Actor: subject("account", a.ID), Subject: subject("account", a.ID),
		ClientID: req.Client.ID, MerchantID: req.Client.MerchantID, OrganizationID: req.Client.OrganizationID,
		Detail: map[string]string{"owner": string(owner.Type) + ":" + owner.ID, "scope": strings.Join(scopes, " ")}}
	ownerTenant(&ev, owner, a.MerchantID)
	s.audit(ctx, ev)
	return nil
}

// IssueCode stores a new authorization code and returns the redirect that
// delivers it.
func (s *Server) IssueCode(ctx context.Context, req AuthorizeRequest, a storage.Account, owner storage.ResourceOwner, authTime time.Time) (string, error) {
	code, id := s.keys.NewToken(secrets.AuthCodeKind)
	now := s.now()
	redirect := ""
	if req.RedirectGiven {
		redirect = req.RedirectURI
	}
	err := s.store.CreateAuthCode(ctx, storage.AuthCode{ID: id, ClientID: req.Client.ID, AccountID: a.ID, Owner: owner,
		Scopes: req.Scopes, RedirectURI: redirect, CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod, Nonce: req.Nonce, AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
		AccountEpoch: a.TokensRevokedAt}) // a password change before the redemption revokes the code
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "authorization code issued", "client_id", req.Client.ID, "owner_type", owner.Type)
	v := url.Values{}
	for k, val := range req.Profile.RedirectParams {
		v.Set(k, val)
	}
	v.Set("code", code) // set after the profile's, which cannot replace it (nor state and iss, set by redirect)
	return s.redirect(req, v), nil
}
