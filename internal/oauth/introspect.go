package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Introspection is an RFC 7662 answer: a token's identity claims, with
// what only introspection says of it.
type Introspection struct {
	Active bool `json:"active"`
	TokenClaims
	TokenType string `json:"token_type,omitempty"`
	Iss       string `json:"iss,omitempty"`
}

// tokenInfo is what introspection and revocation know of a presented token.
type tokenInfo struct {
	refresh  bool
	id       string
	family   string
	clientID string
	account  string
	owner    storage.ResourceOwner
	scopes   []string
	issued   time.Time
	expires  time.Time
	active   bool
}

// lookup finds a presented token of either kind. The tag is checked before
// any database read, so garbage costs nothing. A nil result means unknown.
func (s *Server) lookup(ctx context.Context, token, hint string) (*tokenInfo, error) {
	now := s.now()
	if bearer.LooksLikeJWT(token) {
		jti, err := s.jwtID(ctx, token)
		if err != nil || jti == "" {
			return nil, err
		}
		return s.accessInfo(ctx, jti, now)
	}
	kinds := []secrets.TokenKind{secrets.AccessTokenKind, secrets.RefreshTokenKind}
	if hint == "refresh_token" {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, kind := range kinds {
		if !strings.HasPrefix(token, string(kind)) || !s.keys.CheckToken(kind, token) {
			continue
		}
		id := secrets.TokenID(token)
		if kind == secrets.AccessTokenKind {
			return s.accessInfo(ctx, id, now)
		}
		t, err := s.store.GetRefreshToken(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &tokenInfo{refresh: true, id: id, family: t.FamilyID, clientID: t.ClientID, account: t.AccountID, owner: t.Owner,
			scopes: t.Scopes, issued: t.IssuedAt, expires: t.ExpiresAt,
			active: t.RevokedAt.IsZero() && t.RotatedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))}, nil
	}
	return nil, nil
}

// accessInfo loads an access token by id; nil when unknown.
func (s *Server) accessInfo(ctx context.Context, id string, now time.Time) (*tokenInfo, error) {
	t, err := s.store.GetAccessToken(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return accessTokenInfo(t, now), nil
}

// accessTokenInfo is what introspection knows of a stored access token.
func accessTokenInfo(t storage.AccessToken, now time.Time) *tokenInfo {
	return &tokenInfo{id: t.ID, family: t.FamilyID, clientID: t.ClientID, account: t.AccountID, owner: t.Owner,
		scopes: t.Scopes, issued: t.IssuedAt, expires: t.ExpiresAt,
		active: t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))}
}

// Introspect answers RFC 7662 for token, asked by the authenticated client
// caller. Anything not currently valid, and anything caller may not see
// (see mayIntrospect), is {"active": false}, with nothing else said about it.
func (s *Server) Introspect(ctx context.Context, caller storage.Client, token, hint string) (Introspection, *Error) {
	if token == "" {
		return Introspection{}, InvalidRequest("token is missing").For("token")
	}
	ti, err := s.lookup(ctx, token, hint)
	if err != nil {
		return Introspection{}, s.unavailable(ctx, "introspect token", err)
	}
	if ti == nil || !ti.active || (ti.clientID != caller.ID && !caller.Introspect) {
		return Introspection{Active: false}, nil
	}
	c, err := s.claims(ctx, ti, nil, nil)
	if err != nil {
		return Introspection{}, s.unavailable(ctx, "introspect token", err)
	}
	if !mayIntrospect(caller, ti, c) {
		return Introspection{Active: false}, nil
	}
	out := Introspection{Active: true, TokenClaims: c, TokenType: "Bearer", Iss: s.issuer}
	if ti.refresh {
		out.TokenType = "refresh_token"
	}
	return out, nil
}

// mayIntrospect applies RFC 7662 §4's choice of who may learn about a
// token: the client it was issued to; otherwise only a client registered
// as a resource server (Introspect), and one bound to a merchant only for
// tokens that act for that merchant (its own, its staff's or its guests',
// as the merchant_id claim says); one bound to an organization only for
// tokens that name that organization. A token of an organization or of an
// unbound client names no merchant, so a merchant-bound client never sees it.
func mayIntrospect(caller storage.Client, ti *tokenInfo, c TokenClaims) bool {
	switch {
	case ti.clientID == caller.ID:
		return true
	case !caller.Introspect:
		return false
	case caller.OrganizationID != "":
		return c.OrganizationID == caller.OrganizationID
	}
	return caller.MerchantID == "" || c.MerchantID == caller.MerchantID
}

// Revoke implements RFC 7009 for client c: revoking a refresh token revokes
// its whole family (the access tokens issued from it included); unknown
// tokens and tokens of other clients are ignored, as the RFC asks.
func (s *Server) Revoke(ctx context.Context, c storage.Client, token, hint string) *Error {
	if token == "" {
		return InvalidRequest("token is missing").For("token")
	}
	ti, err := s.lookup(ctx, token, hint)
	if err != nil {
		return s.unavailable(ctx, "revoke token", err)
	}
	if ti == nil || ti.clientID != c.ID {
		return nil
	}
	now := s.now()
	if ti.refresh {
		err = s.store.RevokeFamily(ctx, ti.family, now, familyExpiresAt(c, ti.expires))
	} else {
		err = s.store.RevokeAccessToken(ctx, ti.id, now)
	}
	if err != nil {
		return s.unavailable(ctx, "revoke token", err)
	}
	s.log.InfoContext(ctx, "token revoked", "client_id", c.ID, "refresh", ti.refresh)
	ev := storage.AuditEvent{Type: AuditTokenRevoked, Actor: ActorFrom(ctx), ClientID: c.ID, MerchantID: c.MerchantID, OrganizationID: c.OrganizationID,
		Detail: map[string]string{"kind": "access_token"}}
	if ev.Actor == "" {
		ev.Actor = subject("client", c.ID)
	}
	if ti.account != "" {
		ev.Subject = subject("account", ti.account)
	}
	if ti.refresh {
		ev.Detail = map[string]string{"kind": "refresh_token", "family": familyLabel(ti.family)}
	}
	s.audit(ctx, ev)
	return nil
}
