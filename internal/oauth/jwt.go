package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// JWTClaims are the claims of a JWT access token (RFC 9068): a token's
// identity claims, with what only a JWT carries.
type JWTClaims struct {
	TokenClaims
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	ID       string `json:"jti"`
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
	// The grant already loaded the account and client: reuse them, so
	// issuing does not read them again.
	tc, err := s.claims(ctx, accessTokenInfo(*at, s.now()), res.Account, &res.Client)
	if err != nil {
		return s.unavailable(ctx, "project JWT claims", err)
	}
	c := JWTClaims{TokenClaims: tc, Issuer: s.issuer, Audience: s.audience(res.Client), ID: at.ID}
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
	if errors.Is(err, signing.ErrUnknownKey) {
		return "", nil // not ours, or its key has expired
	}
	if err != nil {
		return "", err // the store failed: not the token's fault
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "", nil
	}
	var c JWTClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != s.issuer || c.ID == "" {
		return "", nil
	}
	if c.ExpiresAt != 0 && !s.now().Before(time.Unix(c.ExpiresAt, 0)) {
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
