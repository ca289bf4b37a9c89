package bearer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// JWTVerifier verifies JWT access tokens (RFC 9068) locally against
// latchkey's published keys, fetching the JWKS once and again whenever a
// token names a key it does not know. Revocation is not seen: pair it with
// short token lifetimes, or use an Introspector where that matters.
type JWTVerifier struct {
	jwksURL, issuer, audience string
	client                    *http.Client
	now                       func() time.Time
	minRefresh                time.Duration

	mu      sync.Mutex
	keys    jose.JSONWebKeySet
	fetched time.Time
}

// NewJWTVerifier returns a verifier for tokens of issuer, checked against
// the JWKS at jwksURL (issuer + "/.well-known/jwks.json" when empty). When
// audience is not empty, the token's aud must equal it.
func NewJWTVerifier(issuer, jwksURL, audience string) *JWTVerifier {
	if jwksURL == "" {
		jwksURL = strings.TrimRight(issuer, "/") + "/.well-known/jwks.json"
	}
	return &JWTVerifier{jwksURL: jwksURL, issuer: issuer, audience: audience, client: &http.Client{Timeout: 5 * time.Second},
		now: time.Now, minRefresh: 10 * time.Second}
}

// jwtClaims are a JWT access token's claims: the identity claims and what
// only a JWT carries.
type jwtClaims struct {
	WireClaims
	Iss string `json:"iss"`
	Aud any    `json:"aud"` // a string or an array of them (RFC 7519 §4.1.3)
}

// Verify checks the token's signature, type (at+jwt), algorithm (ES256
// only: never "none"), issuer, audience and expiry.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Claims, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, ErrInvalidToken
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, ErrInvalidToken
	}
	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, ErrInvalidToken
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, ErrInvalidToken
	}
	var c jwtClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss != v.issuer {
		return nil, ErrInvalidToken
	}
	if c.ExpiresAt != 0 && !v.now().Before(time.Unix(c.ExpiresAt, 0)) {
		return nil, ErrInvalidToken
	}
	if v.audience != "" && !hasAudience(c.Aud, v.audience) {
		return nil, ErrInvalidToken
	}
	return c.Claims(), nil
}

func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if s, _ := x.(string); s == want {
				return true
			}
		}
	}
	return false
}

// key returns the published key kid, fetching the JWKS when it is unknown
// (at most once per minRefresh, so forged kids cannot flood latchkey).
func (v *JWTVerifier) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if keys := v.keys.Key(kid); len(keys) == 1 {
		return &keys[0], nil
	}
	if !v.fetched.IsZero() && v.now().Sub(v.fetched) < v.minRefresh {
		return nil, nil
	}
	if err := v.fetch(ctx); err != nil {
		return nil, err
	}
	if keys := v.keys.Key(kid); len(keys) == 1 {
		return &keys[0], nil
	}
	return nil, nil
}

func (v *JWTVerifier) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	v.keys, v.fetched = set, v.now()
	return nil
}
