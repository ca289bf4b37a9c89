package oauth

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// ErrInvalidToken is RFC 6750's error for a missing, unknown, expired or revoked bearer token.
const ErrInvalidToken = "invalid_token"

// Access is what a valid bearer token grants.
type Access struct {
	ClientID  string
	AccountID string
	Owner     storage.ResourceOwner
	Scopes    []string
	ExpiresAt time.Time // zero when it never expires
}

// HasAnyScope reports whether the token carries one of scopes.
func (a Access) HasAnyScope(scopes ...string) bool {
	for _, s := range scopes {
		for _, have := range a.Scopes {
			if s == have {
				return true
			}
		}
	}
	return false
}

// BearerToken takes the token from the Authorization header (RFC 6750
// §2.1); tokens in the query string or body are not accepted.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// CheckAccess validates a bearer access token for a protected call.
func (s *Server) CheckAccess(ctx context.Context, token string) (Access, *Error) {
	invalid := newError(http.StatusUnauthorized, ErrInvalidToken, "the access token is missing, unknown, expired or revoked")
	if token == "" {
		return Access{}, invalid
	}
	ti, err := s.lookup(ctx, token, "access_token")
	if err != nil {
		return Access{}, s.internal(ctx, "check access token", err)
	}
	if ti == nil || ti.refresh || !ti.active {
		return Access{}, invalid
	}
	return Access{ClientID: ti.clientID, AccountID: ti.account, Owner: ti.owner, Scopes: ti.scopes, ExpiresAt: ti.expires}, nil
}

// InsufficientScope is RFC 6750's error for a token without the scope a call needs.
func InsufficientScope(scopes ...string) *Error {
	return newError(http.StatusForbidden, "insufficient_scope", "the access token lacks the scope this call needs: %s", strings.Join(scopes, " or "))
}
