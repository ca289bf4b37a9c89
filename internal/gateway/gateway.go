// Package gateway is latchkey's reverse proxy for resource servers: per
// route it requires a valid bearer token, a scope rule and bindings of path
// parameters to the token, then forwards the request with the token's
// identity in X-Latchkey-* headers. Unmatched routes are denied.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
)

// The headers the gateway sets for the upstream; callers' copies are removed.
const (
	HeaderPrefix            = "X-Latchkey-"
	HeaderSubject           = "X-Latchkey-Subject"
	HeaderClientID          = "X-Latchkey-Client-Id"
	HeaderUsername          = "X-Latchkey-Username"
	HeaderMerchantID        = "X-Latchkey-Merchant-Id"
	HeaderOrganizationID    = "X-Latchkey-Organization-Id"
	HeaderResourceOwnerType = "X-Latchkey-Resource-Owner-Type"
	HeaderScope             = "X-Latchkey-Scope"
)

// New builds the gateway for rules, forwarding to upstream and checking
// tokens with v.
func New(rules Rules, upstream *url.URL, v bearer.Verifier, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		log = slog.Default()
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
		},
	}
	shape, err := dialect.ErrorShape(rules.Dialect)
	if err != nil {
		return nil, err
	}
	// An upstream that cannot be reached is answered in the rule file's
	// error shape too, so the client reads one kind of error body.
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		log.ErrorContext(r.Context(), "gateway: upstream failed", "path", r.URL.Path, "err", err)
		shape(w, r, oauth.Errorf(http.StatusBadGateway, oauth.ErrServerError, "the upstream service did not answer; try again"))
	}
	g := &gateway{rules: rules, proxy: proxy, verifier: v, log: log, writeError: shape}
	mux := http.NewServeMux()
	catchAll := false
	for _, rt := range rules.Routes {
		if err := register(mux, rt.Match, g.route(rt)); err != nil {
			return nil, err
		}
		catchAll = catchAll || rt.Match == "/"
	}
	if !catchAll {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			g.fail(w, r, oauth.AccessDenied("no gateway rule allows %s %s", r.Method, r.URL.Path))
		})
	}
	return g.strip(mux), nil
}

// register adds a pattern, turning ServeMux's panic on a bad or conflicting pattern into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("gateway rule %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

type gateway struct {
	rules      Rules
	proxy      *httputil.ReverseProxy
	verifier   bearer.Verifier
	log        *slog.Logger
	writeError dialect.ErrorWriter
}

// strip removes every identity header a caller sent, before any rule runs.
func (g *gateway) strip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range r.Header {
			if strings.HasPrefix(http.CanonicalHeaderKey(name), HeaderPrefix) {
				r.Header.Del(name)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (g *gateway) route(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("access_token") {
			g.fail(w, r, oauth.InvalidRequest("access tokens in the query string are not accepted: send Authorization: Bearer"))
			return
		}
		if rt.Public {
			g.proxy.ServeHTTP(w, r)
			return
		}
		token, _ := bearer.Token(r)
		claims, oerr := g.check(r.Context(), token)
		if oerr != nil {
			g.fail(w, r, oerr)
			return
		}
		if oerr := allowed(rt, claims, r); oerr != nil {
			g.fail(w, r, oerr)
			return
		}
		setIdentity(r.Header, claims)
		g.proxy.ServeHTTP(w, r)
	})
}

// setIdentity sets the identity headers of claims on h. It is the only
// mapping from claims to headers, so the upstream sees the same identity
// whichever verifier checked the token.
func setIdentity(h http.Header, c *bearer.Claims) {
	h.Set(HeaderSubject, c.Subject)
	h.Set(HeaderClientID, c.ClientID)
	h.Set(HeaderScope, strings.Join(c.Scopes, " "))
	h.Set(HeaderResourceOwnerType, c.ResourceOwnerType)
	// Unknown fields are left out rather than sent empty.
	for _, f := range []struct{ name, value string }{{HeaderUsername, c.Username}, {HeaderMerchantID, c.MerchantID},
		{HeaderOrganizationID, c.OrganizationID}} {
		if f.value != "" {
			h.Set(f.name, f.value)
		}
	}
}

func (g *gateway) check(ctx context.Context, token string) (*bearer.Claims, *oauth.Error) {
	invalid := oauth.InvalidToken("the access token is missing, unknown, expired or revoked")
	if token == "" {
		return nil, invalid
	}
	claims, err := g.verifier.Verify(ctx, token)
	switch {
	case errors.Is(err, bearer.ErrInvalidToken):
		return nil, invalid
	case err != nil:
		g.log.ErrorContext(ctx, "gateway: check token", "err", err)
		return nil, oauth.Unavailable(time.Second, "the token could not be checked; try again")
	}
	return claims, nil
}

// allowed applies a route's scope rule and bindings.
func allowed(rt Route, c *bearer.Claims, r *http.Request) *oauth.Error {
	if len(rt.Scopes.Any) > 0 && !slices.ContainsFunc(rt.Scopes.Any, c.HasScope) {
		return oauth.InsufficientScope(rt.Scopes.Any...)
	}
	for _, s := range rt.Scopes.All {
		if !c.HasScope(s) {
			return oauth.InsufficientScope(s)
		}
	}
	for param, field := range rt.Bind {
		want := map[string]string{"client": c.ClientID, "merchant": c.MerchantID, "organization": c.OrganizationID, "subject": c.Subject}[field]
		if got := r.PathValue(param); got == "" || got != want {
			return oauth.Forbidden("the access token is not valid for this %s: {%s} must be the token's %s", param, param, field)
		}
	}
	return nil
}

// fail answers in the rule file's dialect, with RFC 6750's challenge.
func (g *gateway) fail(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		respond.BearerChallenge(w, e.Code, e.Description)
	}
	g.writeError(w, r, e)
}

// WithJWT returns a verifier that checks JWTs locally with jwt and every
// other token with next.
func WithJWT(jwt, next bearer.Verifier) bearer.Verifier { return jwtFirst{jwt, next} }

type jwtFirst struct{ jwt, next bearer.Verifier }

func (v jwtFirst) Verify(ctx context.Context, token string) (*bearer.Claims, error) {
	if bearer.LooksLikeJWT(token) {
		return v.jwt.Verify(ctx, token)
	}
	return v.next.Verify(ctx, token)
}

// CoreVerifier checks tokens against latchkey's own database, for a gateway
// that shares it.
type CoreVerifier struct{ Core *oauth.Server }

// Verify checks token with the core and decodes its claims as bearer's
// verifiers do, from the core's one projection of a token's claims.
func (v CoreVerifier) Verify(ctx context.Context, token string) (*bearer.Claims, error) {
	c, oerr := v.Core.AccessClaims(ctx, token)
	switch {
	case oerr == nil:
		return c.Claims(), nil
	case oerr.Code == oauth.ErrInvalidToken:
		return nil, bearer.ErrInvalidToken
	default:
		return nil, oerr
	}
}
