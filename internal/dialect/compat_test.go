package dialect_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
)

// testClock is a settable clock for the server.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestPaytronixKeepsTheFirstRefreshToken follows seed 000's advice to keep
// refreshing "using the refresh token obtained when first logging the guest
// in": three refreshes, each further apart than the rotation grace window
// and within the access token's life, all succeed with that same token,
// and the guest's access tokens stay live.
func TestPaytronixKeepsTheFirstRefreshToken(t *testing.T) {
	clock := &testClock{t: time.Now()}
	base := demoserver.Start(t, demoserver.Options{Dialects: []string{"paytronix"}, Now: clock.Now}).URL
	path := base + "/oauth/requestGuestToken.json"
	status, _, got := send(t, path, "application/json", paytronixPasswordBody, nil)
	if status != http.StatusOK {
		t.Fatalf("login: %d %v", status, got)
	}
	first, access := got["refresh_token"].(string), got["access_token"].(string)
	body := strings.Replace(paytronixRefreshBody, "r9vsdS4LUlnotarealrefreshtokenp9JrsJ8cb", first, 1)
	for i := range 3 {
		clock.Add(time.Minute) // the grace window is 10 s
		status, _, got = send(t, path, "application/json", body, nil)
		if status != http.StatusOK {
			t.Fatalf("refresh %d with the first refresh token: %d %v", i+1, status, got)
		}
		if got["refresh_token"] != first {
			t.Fatalf("refresh %d answered refresh_token %v, want the one sent back", i+1, got["refresh_token"])
		}
		if got["access_token"] == access || got["printedCardNumber"] != "6000986775" {
			t.Fatalf("refresh %d: %v", i+1, got)
		}
	}
	if !introspectActive(t, base, access) {
		t.Fatal("the first access token died although the refresh token was kept")
	}
}

// introspectActive asks the standard introspection endpoint as the paytronix demo client.
func introspectActive(t *testing.T, base, token string) bool {
	t.Helper()
	form := url.Values{"token": {token}, "client_id": {paytronixID}, "client_secret": {paytronixSecret}}
	status, _, got := send(t, base+"/oauth2/introspect", "application/x-www-form-urlencoded", form.Encode(), nil)
	if status != http.StatusOK {
		t.Fatalf("introspect: %d %v", status, got)
	}
	return got["active"] == true
}

const (
	paytronixID, paytronixSecret = "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK", "654secretnx4"
	flexitiID, flexitiSecret     = "flexitidemo", "77xde15a-9d33-4c15-930a-3se4b3as33e9"
	astonID, astonSecret         = "test_client", "asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// dialectCall is one token request of a dialect, in JSON, with the
// client's credentials in the body.
type dialectCall struct {
	name, path, body string
	id, secret       string
	headers          map[string]string
	wantError        func(t *testing.T, status int, got map[string]any) // checks a refusal in the dialect's shape
}

func dialectCalls(t *testing.T, base string) []dialectCall {
	code := astonFlow(t, base, "https://auth.astonclub.com.au/authorize/merchant?client_id=test_client&response_type=code&redirect_uri=https://youwebapp.com/oauth&scope=posapi&state=xyz", "m-1001")
	status, _, got := send(t, base+"/v1/token", "application/json", strings.Replace(astonCodeBody, "abcd1234", code, 1), nil)
	if status != http.StatusOK {
		t.Fatalf("aston code exchange: %d %v", status, got)
	}
	astonRefresh := strings.Replace(astonRefreshBody, "a324cc213e3c2ff25d1e62c6a81463de8f5ff7a2", got["refresh_token"].(string), 1)
	return []dialectCall{
		{name: "paytronix", path: "/oauth/requestGuestToken.json", body: paytronixPasswordBody, id: paytronixID, secret: paytronixSecret,
			wantError: func(t *testing.T, status int, got map[string]any) {
				if status != http.StatusUnauthorized || got["result"] != "failure" || got["errorCode"] != "invalid_client" {
					t.Errorf("paytronix refusal: %d %v", status, got)
				}
			}},
		{name: "flexiti", path: flexitiToken, body: flexitiTokenBody, id: flexitiID, secret: flexitiSecret,
			headers: map[string]string{"x-reference-id": "ref-compat"},
			wantError: func(t *testing.T, status int, got map[string]any) {
				if status != http.StatusBadRequest || got["error"] != "invalid_client" { // Flexiti's table: wrong credentials are 400
					t.Errorf("flexiti refusal: %d %v", status, got)
				}
			}},
		{name: "aston", path: "/v1/token", body: astonRefresh, id: astonID, secret: astonSecret,
			wantError: func(t *testing.T, status int, got map[string]any) {
				if status != http.StatusUnauthorized || got["error"] != "invalid_client" {
					t.Errorf("aston refusal: %d %v", status, got)
				}
			}},
	}
}

// TestDialectsAcceptAgreeingBasicAndBody: integrations send HTTP Basic on
// every call while the body still carries the same credentials; that is
// one authentication on every dialect endpoint. A body secret or client id
// that differs from the header's is refused as a failed client authentication.
func TestDialectsAcceptAgreeingBasicAndBody(t *testing.T) {
	base := newDemo(t)
	for _, c := range dialectCalls(t, base) {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{"Authorization": basic(c.id, c.secret)}
			for k, v := range c.headers {
				h[k] = v
			}
			status, _, got := send(t, base+c.path, "application/json", c.body, h)
			if status != http.StatusOK || got["access_token"] == nil {
				t.Fatalf("Basic plus the same credentials in the body: %d %v", status, got)
			}
			h["Authorization"] = basic(c.id, c.secret+"-other")
			status, _, got = send(t, base+c.path, "application/json", c.body, h)
			c.wantError(t, status, got)
			// A client id in the header other than the body's is refused too,
			// even with the body client's secret, and for that reason (the
			// header's client does not exist, so a refusal alone would not
			// tell).
			h["Authorization"] = basic("someone-else", c.secret)
			status, _, got = send(t, base+c.path, "application/json", c.body, h)
			c.wantError(t, status, got)
			desc, _ := got["error_description"].(string)
			if m, ok := got["errorMessage"].(string); ok {
				desc = m
			}
			if !strings.Contains(strings.ToLower(desc), "client_id differs") {
				t.Errorf("a Basic client id other than the body's refused as %q, want it named as the reason", desc)
			}
		})
	}
	// The standard endpoint keeps RFC 6749 §2.3's rule: one method only.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {flexitiID}, "client_secret": {flexitiSecret}}
	status, _, got := send(t, base+"/oauth2/token", "application/x-www-form-urlencoded", form.Encode(),
		map[string]string{"Authorization": basic(flexitiID, flexitiSecret)})
	if status != http.StatusBadRequest || got["error"] != "invalid_request" {
		t.Fatalf("standard endpoint with two authentication methods: %d %v", status, got)
	}
}

// TestDialectsReadJSONWithoutContentType: a JSON body posted without a
// Content-Type, or as text/plain, is read as JSON on every dialect's token
// endpoint and on the standard one.
func TestDialectsReadJSONWithoutContentType(t *testing.T) {
	base := newDemo(t)
	calls := dialectCalls(t, base)
	calls = append(calls, dialectCall{name: "standard", path: "/oauth2/token",
		body: `{"grant_type":"client_credentials","client_id":"flexitidemo","client_secret":"` + flexitiSecret + `"}`})
	for _, c := range calls {
		for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-8"} {
			t.Run(c.name+"/"+ct, func(t *testing.T) {
				status, _, got := send(t, base+c.path, ct, c.body, c.headers)
				if status != http.StatusOK || got["access_token"] == nil {
					t.Fatalf("JSON body with Content-Type %q: %d %v", ct, status, got)
				}
			})
		}
	}
}
