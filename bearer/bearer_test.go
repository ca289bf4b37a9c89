package bearer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
)

// liveLatchkey starts a real latchkey with the demo data and returns its URL.
func liveLatchkey(t *testing.T) string { return demoserver.Start(t, demoserver.Options{}).URL }

const flexitiSecret = "77xde15a-9d33-4c15-930a-3se4b3as33e9"

func tokenFor(t *testing.T, base, scope string) (access, refresh string) {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"flexitidemo"},
		"client_secret": {flexitiSecret}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, m)
	}
	return m["access_token"].(string), m["refresh_token"].(string)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func call(t *testing.T, h http.Handler, token string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/api", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func TestRequireWithLiveIntrospection(t *testing.T) {
	base := liveLatchkey(t)
	clock := &fakeClock{t: time.Now()}
	in := bearer.NewIntrospector(base+"/oauth2/introspect", "flexitidemo", flexitiSecret, bearer.IntrospectorOptions{CacheTTL: 5 * time.Second})
	bearer.SetClock(in, clock.now)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := bearer.FromContext(r.Context())
		w.Write([]byte(c.ClientID + " " + c.MerchantID + " " + c.ResourceOwnerType))
	})
	merchantOnly := bearer.Require(in, "merchant")(api)
	customer, _ := tokenFor(t, base, "customer")
	merchant, refresh := tokenFor(t, base, "merchant")

	if code, body := call(t, merchantOnly, merchant); code != 200 || body != "flexitidemo 123456 merchant" {
		t.Fatalf("merchant token: %d %q", code, body)
	}
	if code, body := call(t, merchantOnly, customer); code != http.StatusForbidden || !strings.Contains(body, "insufficient_scope") {
		t.Fatalf("customer token on a merchant route: %d %q", code, body)
	}
	for _, tok := range []string{"", "lk_at_unknown", refresh} {
		if code, _ := call(t, merchantOnly, tok); code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d", tok, code)
		}
	}

	// Revoke: the cached answer holds until the cache bound, then the token is refused.
	resp, err := http.PostForm(base+"/oauth2/revoke", url.Values{"token": {merchant}, "client_id": {"flexitidemo"}, "client_secret": {flexitiSecret}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	if code, _ := call(t, merchantOnly, merchant); code != 200 {
		t.Fatalf("within the cache bound the cached answer should be used: %d", code)
	}
	clock.add(5 * time.Second)
	if code, _ := call(t, merchantOnly, merchant); code != http.StatusUnauthorized {
		t.Fatalf("revocation not visible after the cache bound: %d", code)
	}
}

func TestCacheNeverOutlivesTheToken(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"active": true, "scope": "a", "exp": time.Now().Add(time.Second).Unix()})
	}))
	defer srv.Close()
	clock := &fakeClock{t: time.Now()}
	in := bearer.NewIntrospector(srv.URL, "rs", "secret", bearer.IntrospectorOptions{CacheTTL: time.Hour, CacheSize: 2})
	bearer.SetClock(in, clock.now)
	for range 3 {
		if _, err := in.Verify(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("introspected %d times for three checks within the cache bound", calls.Load())
	}
	clock.add(2 * time.Second) // past the token's exp, well within the cache TTL
	in.Verify(context.Background(), "tok")
	if calls.Load() != 2 {
		t.Fatal("a cached answer outlived the token's expiry")
	}
	for i := range 10 { // the cache stays bounded
		in.Verify(context.Background(), "other"+string(rune('a'+i)))
	}
	if bearer.CacheLen(in) > 2 {
		t.Fatalf("cache holds %d entries, bound is 2", bearer.CacheLen(in))
	}
}

// TestJWTVerifierRefetchesOnUnknownKid: a token signed with a key published
// after the verifier's last fetch is accepted once the JWKS is fetched
// again, and unknown kids cannot make it fetch more than once per interval.
func TestJWTVerifierRefetchesOnUnknownKid(t *testing.T) {
	base := liveLatchkey(t)
	ctx := context.Background()
	clock := &fakeClock{t: time.Now()}
	v := bearer.NewJWTVerifier(base, "", "")
	bearer.SetClock(v, clock.now)
	var fetches atomic.Int32
	bearer.SetHTTPClient(v, &http.Client{Transport: countingTransport{&fetches, http.DefaultTransport}})
	for range 3 {
		if _, err := v.Verify(ctx, forgedJWT(t, "kid-unknown")); err != bearer.ErrInvalidToken {
			t.Fatalf("forged token: %v", err)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("unknown kids made %d JWKS fetches within the refresh interval", fetches.Load())
	}
	clock.add(11 * time.Second)
	v.Verify(ctx, forgedJWT(t, "kid-unknown"))
	if fetches.Load() != 2 {
		t.Fatalf("no new JWKS fetch after the refresh interval (%d)", fetches.Load())
	}
}

type countingTransport struct {
	n    *atomic.Int32
	next http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func forgedJWT(t *testing.T, kid string) string {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	jws, _ := s.Sign([]byte(`{"iss":"x","exp":9999999999}`))
	out, _ := jws.CompactSerialize()
	return out
}

// TestIntrospectorAndJWTVerifierAgree: the same JWT access token, checked
// locally and through introspection, gives equal Claims, with every field
// latchkey knows of it filled.
func TestIntrospectorAndJWTVerifierAgree(t *testing.T) {
	site := demoserver.Start(t, demoserver.Options{})
	ctx := context.Background()
	// A JWT client bound to m-1001, a merchant of organization o-2001, that
	// logs in staff; and the demo guest client switched to JWTs.
	if err := site.Store.CreateClient(ctx, storage.Client{ID: "aston-pos", Name: "Aston POS", SecretHash: site.Keys.HashClientSecret("pos-secret"),
		GrantTypes: []string{"password", "client_credentials"}, Scopes: []string{"posapi"}, DefaultScopes: []string{"posapi"},
		AccessTokenTTL: 10 * time.Minute, MerchantID: "m-1001", AccountKind: storage.Staff, AccessTokenFormat: "jwt", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const guestApp, guestSecret = "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK", "654secretnx4"
	if err := site.Store.UpdateClient(ctx, guestApp, func(c storage.Client) (storage.Client, error) {
		c.AccessTokenFormat = "jwt"
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The demo's resource server: a client may introspect only its own tokens otherwise.
	in := bearer.NewIntrospector(site.URL+"/oauth2/introspect", "demo-api", "demo-api-secret", bearer.IntrospectorOptions{CacheTTL: -1})
	local := bearer.NewJWTVerifier(site.URL, "", site.URL)
	for _, tc := range []struct {
		name, client, secret string
		form                 url.Values
		want                 bearer.Claims // the fields that do not depend on when the token was issued
	}{
		{"guest", guestApp, guestSecret, url.Values{"grant_type": {"password"}, "username": {"johndoe"}, "password": {"open456"}},
			bearer.Claims{Subject: "acc_demo_johndoe", ClientID: guestApp, Username: "johndoe", MerchantID: "777777", ResourceOwnerType: "guest"}},
		{"staff", "aston-pos", "pos-secret", url.Values{"grant_type": {"password"}, "username": {"owner@astonclub.example"}, "password": {"correct-horse-battery"}},
			bearer.Claims{Subject: "acc_demo_aston_owner", ClientID: "aston-pos", Username: "owner@astonclub.example", MerchantID: "m-1001",
				OrganizationID: "o-2001", ResourceOwnerType: "merchant"}},
		{"client", "aston-pos", "pos-secret", url.Values{"grant_type": {"client_credentials"}},
			bearer.Claims{Subject: "aston-pos", ClientID: "aston-pos", MerchantID: "m-1001", OrganizationID: "o-2001", ResourceOwnerType: "merchant"}},
	} {
		form := tc.form
		form.Set("client_id", tc.client)
		form.Set("client_secret", tc.secret)
		resp, err := http.PostForm(site.URL+"/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		token, _ := m["access_token"].(string)
		if !bearer.LooksLikeJWT(token) {
			t.Fatalf("%s: not a JWT: %d %v", tc.name, resp.StatusCode, m)
		}
		remote, err := in.Verify(ctx, token)
		if err != nil {
			t.Fatalf("%s: introspection: %v", tc.name, err)
		}
		jwt, err := local.Verify(ctx, token)
		if err != nil {
			t.Fatalf("%s: JWT verifier: %v", tc.name, err)
		}
		if !reflect.DeepEqual(remote, jwt) {
			t.Errorf("%s: introspection says %+v\nJWT verifier says %+v", tc.name, remote, jwt)
		}
		got := *jwt
		if got.IssuedAt.IsZero() || !got.ExpiresAt.After(got.IssuedAt) || len(got.Scopes) == 0 {
			t.Errorf("%s: times or scopes missing: %+v", tc.name, got)
		}
		got.IssuedAt, got.ExpiresAt, got.Scopes = time.Time{}, time.Time{}, nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: claims %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}
