package oauth

import (
	"context"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

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

// CheckAccess validates a bearer access token for a protected call.
func (s *Server) CheckAccess(ctx context.Context, token string) (Access, *Error) {
	invalid := InvalidToken("the access token is missing, unknown, expired or revoked")
	if token == "" {
		return Access{}, invalid
	}
	ti, err := s.lookup(ctx, token, "access_token")
	if err != nil {
		return Access{}, s.unavailable(ctx, "check access token", err)
	}
	if ti == nil || ti.refresh || !ti.active {
		return Access{}, invalid
	}
	return Access{ClientID: ti.clientID, AccountID: ti.account, Owner: ti.owner, Scopes: ti.scopes, ExpiresAt: ti.expires}, nil
}
