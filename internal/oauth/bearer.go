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
	ti, oerr := s.checkAccess(ctx, token)
	if oerr != nil {
		return Access{}, oerr
	}
	return Access{ClientID: ti.clientID, AccountID: ti.account, Owner: ti.owner, Scopes: ti.scopes, ExpiresAt: ti.expires}, nil
}

// AccessClaims validates a bearer access token as CheckAccess does and
// returns its identity claims, projected as introspection answers them and
// JWT access tokens carry them.
func (s *Server) AccessClaims(ctx context.Context, token string) (TokenClaims, *Error) {
	ti, oerr := s.checkAccess(ctx, token)
	if oerr != nil {
		return TokenClaims{}, oerr
	}
	c, err := s.claims(ctx, ti, nil, nil)
	if err != nil {
		return TokenClaims{}, s.unavailable(ctx, "project token claims", err)
	}
	return c, nil
}

// checkAccess finds a live access token; refresh tokens are refused.
func (s *Server) checkAccess(ctx context.Context, token string) (*tokenInfo, *Error) {
	invalid := InvalidToken("the access token is missing, unknown, expired or revoked")
	if token == "" {
		return nil, invalid
	}
	ti, err := s.lookup(ctx, token, "access_token")
	if err != nil {
		return nil, s.unavailable(ctx, "check access token", err)
	}
	if ti == nil || ti.refresh || !ti.active {
		return nil, invalid
	}
	return ti, nil
}
