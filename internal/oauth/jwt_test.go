package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

func (e *env) jwks() jose.JSONWebKeySet {
	e.t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + "/.well-known/jwks.json")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		e.t.Fatal(err)
	}
	return set
}

func (e *env) jwtToken(grant url.Values) string {
	e.t.Helper()
	status, _, m := e.post("/oauth2/token", grant, jwtApp, jwtSecret)
	if status != http.StatusOK {
		e.t.Fatalf("jwt token: %d %v", status, m)
	}
	return m["access_token"].(string)
}

// verifyWithJWKS checks a token with go-jose against the published keys and returns its claims and kid.
func verifyWithJWKS(t *testing.T, set jose.JSONWebKeySet, token string) (map[string]any, string, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, "", err
	}
	h := jws.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		return nil, h.KeyID, errors.New("kid not published")
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, h.KeyID, err
	}
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		return nil, h.KeyID, errors.New("typ is not at+jwt")
	}
	var claims map[string]any
	return claims, h.KeyID, json.Unmarshal(payload, &claims)
}

func TestJWTAccessTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"user_read user_write"}}
		tok := e.jwtToken(cc)
		claims, kid1, err := verifyWithJWKS(t, e.jwks(), tok)
		if err != nil {
			t.Fatalf("token does not verify against the JWKS: %v", err)
		}
		for k, v := range map[string]any{"iss": e.srv.URL, "aud": e.srv.URL, "client_id": jwtApp, "sub": jwtApp, "scope": "user_read user_write",
			"merchant_id": merchantID, "resource_owner_type": "merchant"} {
			if claims[k] != v {
				t.Errorf("claim %s = %v, want %v", k, claims[k], v)
			}
		}
		if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 1800 || claims["jti"] == "" {
			t.Errorf("exp %v iat %v jti %v", exp, iat, claims["jti"])
		}
		// The password grant: sub is the guest; refresh returns a JWT as well.
		pw := e.jwtToken(url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {guestPass}})
		if c, _, err := verifyWithJWKS(t, e.jwks(), pw); err != nil || c["sub"] != "acc-john" || c["resource_owner_type"] != "guest" {
			t.Fatalf("password-grant JWT: %v %v", c, err)
		}

		// Introspection and revocation see JWTs like any token, through the bearer package too.
		if !e.active(tok) {
			t.Fatal("JWT not active in introspection")
		}
		in := bearer.NewIntrospector(e.srv.URL+"/oauth2/introspect", rsID, rsSecret, bearer.IntrospectorOptions{CacheTTL: -1})
		if c, err := in.Verify(context.Background(), tok); err != nil || c.MerchantID != merchantID {
			t.Fatalf("bearer.Introspector on a JWT: %+v %v", c, err)
		}
		if status, _, _ := e.post("/oauth2/revoke", url.Values{"token": {tok}}, jwtApp, jwtSecret); status != 200 {
			t.Fatal("revoke JWT failed")
		}
		if e.active(tok) {
			t.Fatal("revoked JWT still active in introspection")
		}
		if _, err := in.Verify(context.Background(), tok); !errors.Is(err, bearer.ErrInvalidToken) {
			t.Fatalf("bearer.Introspector accepts a revoked JWT: %v", err)
		}

		// Rotation: the next key is published at once; old and new tokens both verify.
		old := e.jwtToken(cc)
		kr, err := signing.New(e.store, e.keys, e.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		rotated, err := kr.Rotate(context.Background(), 0, time.Hour, jose.ES256)
		if err != nil {
			t.Fatal(err)
		}
		next := rotated[0]
		e.clock.Add(31 * time.Second) // past the server's key cache
		fresh := e.jwtToken(cc)
		set := e.jwks()
		if _, kid, err := verifyWithJWKS(t, set, old); err != nil || kid != kid1 {
			t.Fatalf("old token after rotation: kid %s %v", kid, err)
		}
		if _, kid, err := verifyWithJWKS(t, set, fresh); err != nil || kid != next.ID {
			t.Fatalf("new token after rotation: kid %s (want %s) %v", kid, next.ID, err)
		}
		v := bearer.NewJWTVerifier(e.srv.URL, "", e.srv.URL)
		for _, tk := range []string{old, fresh} {
			if _, err := v.Verify(context.Background(), tk); err != nil {
				t.Fatalf("bearer.JWTVerifier refuses a valid token: %v", err)
			}
		}
		// Once the old key's tokens have all expired, it is no longer published.
		e.clock.Add(time.Hour + time.Minute)
		if set := e.jwks(); len(set.Key(kid1)) != 0 {
			t.Fatal("the retired key is still published after its tokens expired")
		}
	})
}

// TestJWTRefused: tampered, wrong typ, alg none, unknown kid.
func TestJWTRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		good := e.jwtToken(url.Values{"grant_type": {"client_credentials"}})
		parts := strings.Split(good, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "user_read", "user_wrte", 1))) + "." + parts[2]

		// A key the server publishes, whose private half the test holds: only the typ differs.
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: "test-kid", Algorithm: "ES256", Use: "sig"})
		if err := e.store.CreateSigningKey(context.Background(), storage.SigningKey{ID: "test-kid", Algorithm: "ES256", PublicJWK: string(pub),
			PrivateKey: []byte("unused"), CreatedAt: e.clock.Now(), SignFrom: e.clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(31 * time.Second) // let the server reload its keys
		sign := func(kid, typ string, key any) string {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
			if err != nil {
				t.Fatal(err)
			}
			jws, _ := s.Sign(payload)
			out, _ := jws.CompactSerialize()
			return out
		}
		stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"test-kid"}`)) + "." + parts[1] + "."
		control := sign("test-kid", "at+jwt", priv)
		if !e.active(control) {
			t.Fatal("control: a correctly signed token with a published key is not active")
		}
		v := bearer.NewJWTVerifier(e.srv.URL, "", "")
		for name, tok := range map[string]string{"tampered": tampered, "wrong typ": sign("test-kid", "JWT", priv),
			"alg none": none, "unknown kid": sign("nobody", "at+jwt", stranger), "right kid, wrong key": sign("test-kid", "at+jwt", stranger)} {
			if e.active(tok) {
				t.Errorf("%s: active in introspection", name)
			}
			if _, err := v.Verify(context.Background(), tok); !errors.Is(err, bearer.ErrInvalidToken) {
				t.Errorf("%s: bearer.JWTVerifier says %v", name, err)
			}
		}
	})
}
