package bearer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Introspector verifies tokens by asking latchkey's introspection endpoint,
// authenticating as a confidential client, and caches answers briefly.
type Introspector struct {
	url, clientID, secret string
	client                *http.Client
	ttl                   time.Duration
	max                   int
	now                   func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	claims *Claims // nil: the token is not valid
	until  time.Time
}

// IntrospectorOptions tune an Introspector; zero fields take the defaults noted.
type IntrospectorOptions struct {
	HTTPClient *http.Client  // http.Client with a 5 s timeout
	CacheTTL   time.Duration // how long an answer is reused: 5 s; negative disables the cache
	CacheSize  int           // how many answers are kept at most: 10000
}

// NewIntrospector returns a Verifier for the introspection endpoint at
// endpoint (e.g. https://auth.example.com/oauth2/introspect).
func NewIntrospector(endpoint, clientID, clientSecret string, o IntrospectorOptions) *Introspector {
	i := &Introspector{url: endpoint, clientID: clientID, secret: clientSecret, client: o.HTTPClient, ttl: o.CacheTTL,
		max: o.CacheSize, now: time.Now, cache: map[[32]byte]cached{}}
	if i.client == nil {
		i.client = &http.Client{Timeout: 5 * time.Second}
	}
	if i.ttl == 0 {
		i.ttl = 5 * time.Second
	}
	if i.max <= 0 {
		i.max = 10000
	}
	return i
}

// Verify returns the token's claims, or ErrInvalidToken. A cached answer
// is reused for at most the cache TTL, and never past the token's expiry.
func (i *Introspector) Verify(ctx context.Context, token string) (*Claims, error) {
	key := sha256.Sum256([]byte(token)) // the cache never holds tokens in clear
	now := i.now()
	if i.ttl > 0 {
		i.mu.Lock()
		e, ok := i.cache[key]
		i.mu.Unlock()
		if ok && now.Before(e.until) {
			if e.claims == nil {
				return nil, ErrInvalidToken
			}
			return e.claims, nil
		}
	}
	claims, err := i.ask(ctx, token)
	if err != nil && err != ErrInvalidToken {
		return nil, err
	}
	if i.ttl > 0 {
		until := now.Add(i.ttl)
		if claims != nil && !claims.ExpiresAt.IsZero() && claims.ExpiresAt.Before(until) {
			until = claims.ExpiresAt
		}
		i.store(key, cached{claims: claims, until: until}, now)
	}
	return claims, err
}

func (i *Introspector) store(key [32]byte, e cached, now time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.cache) >= i.max {
		for k, v := range i.cache {
			if !now.Before(v.until) {
				delete(i.cache, k)
			}
		}
		for k := range i.cache { // still full: drop arbitrary entries
			if len(i.cache) < i.max {
				break
			}
			delete(i.cache, k)
		}
	}
	i.cache[key] = e
}

// answer is an RFC 7662 response: its activity and type around the claims.
type answer struct {
	Active    bool   `json:"active"`
	TokenType string `json:"token_type"`
	WireClaims
}

func (i *Introspector) ask(ctx context.Context, token string) (*Claims, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(i.clientID), url.QueryEscape(i.secret))
	resp, err := i.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspect: status %d", resp.StatusCode)
	}
	var a answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&a); err != nil {
		return nil, fmt.Errorf("introspect: decode answer: %w", err)
	}
	if !a.Active || a.TokenType == "refresh_token" {
		return nil, ErrInvalidToken
	}
	return a.Claims(), nil
}
