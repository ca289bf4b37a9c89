// Package bearer lets a resource server accept latchkey access tokens: it
// checks a request's bearer token (RFC 6750), by asking latchkey's
// introspection endpoint (RFC 7662) with a short bounded cache, and puts
// the token's claims in the request's context.
package bearer

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/respond"
)

// Claims are what a valid token says.
type Claims struct {
	Subject           string    // the account, or the client for client tokens
	ClientID          string    // the client the token was issued to
	Username          string    // the account's username, when a person logged in
	MerchantID        string    // the merchant the token acts for, when known
	OrganizationID    string    // the organization the token acts for, when known
	ResourceOwnerType string    // guest, merchant, organization or client
	Scopes            []string  // the granted scopes
	IssuedAt          time.Time // when the token was issued
	ExpiresAt         time.Time // zero when the token never expires
}

// HasScope reports whether the claims carry scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes, s) }

// The error codes Require answers (RFC 6750 §3.1, RFC 6749 §4.1.2.1).
const (
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	CodeUnavailable       = "temporarily_unavailable"
)

// ErrInvalidToken means the token is missing, unknown, expired or revoked.
var ErrInvalidToken = errors.New("invalid token")

// Verifier checks a token and returns its claims, or ErrInvalidToken.
type Verifier interface {
	Verify(ctx context.Context, token string) (*Claims, error)
}

type ctxKey struct{}

// FromContext returns the claims Require put in the request's context.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}

// NewContext returns ctx carrying claims.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// Token returns the bearer token of the Authorization header. Tokens in the
// query string or body are not accepted (RFC 6750 §2.1 only).
func Token(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// LooksLikeJWT tells a compact JWS from an opaque latchkey token without
// parsing it, so each can go to the check that fits.
func LooksLikeJWT(token string) bool {
	return strings.HasPrefix(token, "eyJ") && strings.Count(token, ".") == 2 && len(token) < 8192
}

// Require returns middleware that lets a request through only with a valid
// token carrying at least one of scopes (any scope when none are given),
// with the token's claims in its context. Failures answer RFC 6750 errors.
func Require(v Verifier, scopes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := Token(r)
			if !ok {
				Fail(w, http.StatusUnauthorized, CodeInvalidToken, "a bearer token is required")
				return
			}
			c, err := v.Verify(r.Context(), token)
			if errors.Is(err, ErrInvalidToken) {
				Fail(w, http.StatusUnauthorized, CodeInvalidToken, "the access token is missing, unknown, expired or revoked")
				return
			}
			if err != nil {
				Fail(w, http.StatusServiceUnavailable, CodeUnavailable, "the token could not be checked; try again")
				return
			}
			if len(scopes) > 0 && !slices.ContainsFunc(scopes, c.HasScope) {
				Fail(w, http.StatusForbidden, CodeInsufficientScope, "the access token lacks the scope this call needs: "+strings.Join(scopes, " or "))
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
	}
}

// Fail writes an RFC 6750 error: the WWW-Authenticate challenge and a JSON body.
func Fail(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		respond.BearerChallenge(w, code, description)
	}
	respond.JSON(w, status, map[string]string{"error": code, "error_description": description})
}
