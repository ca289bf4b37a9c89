package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// newScenario prepares scenario name for c workers running for about d.
func newScenario(ctx context.Context, name string, bases []string, st storage.Storage, keys *secrets.Keys, c int, d time.Duration) (*scenario, error) {
	form := func(v url.Values) func(int) string {
		body := v.Encode()
		return func(int) string { return body }
	}
	base := bases[0] // tokens to start from come from the first node; all share one database
	s := &scenario{bases: bases, user: flexiti, secret: flexitiSecret, path: "/oauth2/token"}
	switch name {
	case "client_credentials", "client_credentials_prefilled":
		s.user, s.secret = benchClient, benchSecret
		s.body = form(url.Values{"grant_type": {"client_credentials"}})
	case "password":
		s.body = form(url.Values{"grant_type": {"password"}, "username": {"acmejewellers"}, "password": {"dice-vanila-purse"}})
	case "introspect":
		tok, err := issue(ctx, base)
		if err != nil {
			return nil, err
		}
		s.path = "/oauth2/introspect"
		s.body = form(url.Values{"token": {tok.AccessToken}})
	case "refresh_token":
		// Each worker refreshes its own token family, keeping the newest token.
		current := make([]string, c)
		for w := range c {
			tok, err := issue(ctx, base)
			if err != nil {
				return nil, err
			}
			current[w] = tok.RefreshToken
		}
		var mu sync.Mutex
		s.body = func(w int) string {
			mu.Lock()
			defer mu.Unlock()
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {current[w]}}.Encode()
		}
		s.onOK = func(w int, body []byte) {
			var t tokenAnswer
			if json.Unmarshal(body, &t) == nil && t.RefreshToken != "" {
				mu.Lock()
				current[w] = t.RefreshToken
				mu.Unlock()
			}
		}
	case "authorization_code", "authorization_code_openid":
		spec := astonCodes
		if name == "authorization_code_openid" {
			spec = openIDCodes
		}
		codes, err := makeCodes(ctx, st, keys, spec, int(d/time.Second)*4000+c)
		if err != nil {
			return nil, err
		}
		var used atomic.Int64
		s.user, s.secret = spec.client, spec.secret
		s.stopped = func(int) bool { return used.Load() >= int64(len(codes)) }
		s.fixed = url.Values{"grant_type": {"authorization_code"}, "code": {codes[0]}, "redirect_uri": {spec.code.RedirectURI}}.Encode()
		s.body = func(int) string {
			i := used.Add(1) - 1
			if i >= int64(len(codes)) {
				i = int64(len(codes)) - 1
			}
			return url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]}, "redirect_uri": {spec.code.RedirectURI}}.Encode()
		}
	default:
		return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(Scenarios, ", "))
	}
	return s, nil
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// issue gets a client_credentials token (with a refresh token: the demo's flexiti client gets one).
func issue(ctx context.Context, base string) (tokenAnswer, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic(flexiti, flexitiSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tokenAnswer{}, err
	}
	defer resp.Body.Close()
	var t tokenAnswer
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK {
		return t, fmt.Errorf("get a token: status %d %v", resp.StatusCode, err)
	}
	return t, nil
}

// codeSpec is whose authorization codes a code scenario redeems.
type codeSpec struct {
	client, secret string
	code           storage.AuthCode // the fields every code shares
}

var (
	// astonCodes are the Aston demo client's: an OAuth 2.0 code flow.
	astonCodes = codeSpec{client: aston, secret: astonSecret, code: storage.AuthCode{ClientID: aston,
		AccountID: "acc_demo_aston_owner", Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "m-1001"},
		Scopes: []string{"posapi"}, RedirectURI: astonRedirect}}
	// openIDCodes are awesomesite's with openid: each redemption also
	// signs an RS256 ID token.
	openIDCodes = codeSpec{client: "awesomesite", secret: "awesomesite-demo-secret", code: storage.AuthCode{ClientID: "awesomesite",
		AccountID: "acc_demo_johndoe", Owner: storage.ResourceOwner{Type: storage.OwnerGuest, ID: "acc_demo_johndoe"},
		Scopes: []string{"openid", "profile", "user_read"}, RedirectURI: "https://www.myawesomewebsite.com/login", Nonce: "bench-nonce"}}
)

// makeCodes stores n authorization codes of spec, as the authorization page would.
func makeCodes(ctx context.Context, st storage.Storage, keys *secrets.Keys, spec codeSpec, n int) ([]string, error) {
	codes := make([]string, n)
	now := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < n; i += 64 {
				code, id := keys.NewToken(secrets.AuthCodeKind)
				ac := spec.code
				ac.ID, ac.AuthTime, ac.CreatedAt, ac.ExpiresAt = id, now, now, now.Add(30*time.Minute)
				err := st.CreateAuthCode(ctx, ac)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				codes[i] = code
			}
		})
	}
	wg.Wait()
	return codes, firstErr
}
