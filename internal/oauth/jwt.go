package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// JWTClaims are the claims of a JWT access token (RFC 9068), with
// latchkey's commerce fields.
type JWTClaims struct {
	Issuer            string `json:"iss"`
	Subject           string `json:"sub"`
	Audience          string `json:"aud"`
	ClientID          string `json:"client_id"`
	Scope             string `json:"scope,omitempty"`
	Expiry            int64  `json:"exp,omitempty"`
	IssuedAt          int64  `json:"iat"`
	ID                string `json:"jti"`
	MerchantID        string `json:"merchant_id,omitempty"`
	OrganizationID    string `json:"organization_id,omitempty"`
	ResourceOwnerType string `json:"resource_owner_type,omitempty"`
}

// audience is the aud of a client's JWTs: its registered audience, or the issuer.
func (s *Server) audience(c storage.Client) string {
	if a := c.Audience; a != "" {
		return a
	}
	return s.issuer
}

// signJWT replaces res's opaque access token by a JWT for clients that
// want one. The JWT's jti is the stored token's id, so introspection and
// revocation work on it as on any token.
func (s *Server) signJWT(ctx context.Context, res *TokenResult, at *storage.AccessToken) *Error {
	if res.Client.AccessTokenFormat != "jwt" {
		return nil
	}
	signer, err := s.keyring.Signer(ctx)
	if err != nil {
		return s.unavailable(ctx, "load signing key", err)
	}
	c := JWTClaims{Issuer: s.issuer, Subject: res.Client.ID, Audience: s.audience(res.Client), ClientID: res.Client.ID,
		Scope: strings.Join(at.Scopes, " "), IssuedAt: at.IssuedAt.Unix(), ID: at.ID, ResourceOwnerType: string(at.Owner.Type)}
	if !at.ExpiresAt.IsZero() {
		c.Expiry = at.ExpiresAt.Unix()
	}
	if res.Account != nil {
		c.Subject = res.Account.ID
		if res.Account.Kind == storage.Guest {
			c.MerchantID = res.Account.MerchantID
		}
	}
	switch at.Owner.Type {
	case storage.OwnerMerchant:
		c.MerchantID = at.Owner.ID
	case storage.OwnerOrganization:
		c.OrganizationID = at.Owner.ID
	case storage.OwnerClient:
		c.MerchantID = res.Client.MerchantID
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return s.unavailable(ctx, "encode JWT claims", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return s.unavailable(ctx, "sign JWT", err)
	}
	if res.AccessToken, err = jws.CompactSerialize(); err != nil {
		return s.unavailable(ctx, "serialize JWT", err)
	}
	return nil
}

// jwtID verifies one of our JWTs and returns its jti; "" when it is not valid.
func (s *Server) jwtID(ctx context.Context, token string) (string, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return "", nil
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return "", nil
	}
	key, err := s.keyring.PublicKey(ctx, h.KeyID)
	if err != nil {
		return "", nil // unknown kid: not ours
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "", nil
	}
	var c JWTClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != s.issuer || c.ID == "" {
		return "", nil
	}
	if c.Expiry != 0 && !s.now().Before(time.Unix(c.Expiry, 0)) {
		return "", nil
	}
	return c.ID, nil
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	set, err := s.keyring.JWKS(r.Context())
	if err != nil {
		WriteError(w, s.unavailable(r.Context(), "publish JWKS", err))
		return
	}
	if set.Keys == nil {
		set.Keys = []jose.JSONWebKey{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if err := json.NewEncoder(w).Encode(set); err != nil {
		s.log.WarnContext(r.Context(), "write JWKS", "err", fmt.Sprint(err))
	}
}
