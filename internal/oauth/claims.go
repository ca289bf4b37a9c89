package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// TokenClaims are a token's identity claims: what introspection answers and
// a JWT access token carries. They are bearer's wire type, so the server
// writes exactly the JSON names resource servers decode.
type TokenClaims = bearer.WireClaims

// claims projects token t onto its identity claims; introspection, JWT
// signing and the gateway all go through here, so they cannot disagree.
// account and client are t's records when the caller already holds them
// (at issue time); nil ones are loaded when a claim needs them. A record
// that does not exist leaves its claims out, but any other storage failure
// is returned: a token answered without its merchant or organization would
// be read by resource servers as acting for none.
func (s *Server) claims(ctx context.Context, t *tokenInfo, account *storage.Account, client *storage.Client) (TokenClaims, error) {
	c := TokenClaims{Subject: t.clientID, ClientID: t.clientID, ResourceOwnerType: string(t.owner.Type),
		Scope: strings.Join(t.scopes, " ")}
	if !t.issued.IsZero() {
		c.IssuedAt = t.issued.Unix()
	}
	if !t.expires.IsZero() {
		c.ExpiresAt = t.expires.Unix()
	}
	if t.account != "" {
		c.Subject = t.account
		if account == nil {
			switch a, err := s.store.GetAccount(ctx, t.account); {
			case err == nil:
				account = &a
			case !errors.Is(err, storage.ErrNotFound):
				return TokenClaims{}, fmt.Errorf("load account of token: %w", err)
			}
		}
		if account != nil {
			c.Username = account.Username
			if account.Kind == storage.Guest {
				c.MerchantID = account.MerchantID
			}
		}
	}
	switch t.owner.Type {
	case storage.OwnerMerchant:
		c.MerchantID = t.owner.ID
		switch m, err := s.merchant(ctx, t.owner.ID); {
		case err == nil:
			c.OrganizationID = m.OrganizationID
		case !errors.Is(err, storage.ErrNotFound):
			return TokenClaims{}, fmt.Errorf("load merchant of token: %w", err)
		}
	case storage.OwnerOrganization:
		c.OrganizationID = t.owner.ID
	case storage.OwnerClient:
		if client == nil {
			switch cl, err := s.client(ctx, t.clientID); {
			case err == nil:
				client = &cl
			case !errors.Is(err, storage.ErrNotFound):
				return TokenClaims{}, fmt.Errorf("load client of token: %w", err)
			}
		}
		if client != nil {
			c.MerchantID = client.MerchantID
		}
	}
	return c, nil
}
