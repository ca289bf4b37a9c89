package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/gateway"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
)

// world is latchkey with the demo data, an upstream that records what
// reaches it, and a gateway in front of the upstream.
type world struct {
	t         *testing.T
	latchkey  string
	gateway   string
	store     storage.Storage
	keys      *secrets.Keys
	forwarded chan http.Header
	upstream  *httptest.Server
}

func newWorld(t *testing.T, rulesFile string, remote bool) *world {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	site := demoserver.Start(t, demoserver.Options{Dialects: []string{"flexiti", "paytronix"}})
	st, keys := site.Store, site.Keys
	w := &world{t: t, store: st, keys: keys, latchkey: site.URL, forwarded: make(chan http.Header, 64)}

	upstream := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.forwarded <- r.Header.Clone()
		rw.Write([]byte("upstream " + r.Method + " " + r.URL.Path))
	}))
	t.Cleanup(upstream.Close)
	w.upstream = upstream
	rules, err := gateway.LoadRules(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var v bearer.Verifier
	if remote {
		v = bearer.NewIntrospector(site.URL+"/oauth2/introspect", "demo-api", "demo-api-secret", bearer.IntrospectorOptions{CacheTTL: -1})
	} else {
		core, err := oauth.New(oauth.Config{Store: st, Keys: keys, Issuer: site.URL, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		v = gateway.CoreVerifier{Core: core}
	}
	up, _ := url.Parse(upstream.URL)
	g, err := gateway.New(rules, up, v, log)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	w.gateway = gw.URL
	return w
}

func (w *world) token(scope string) string {
	w.t.Helper()
	resp, err := http.PostForm(w.latchkey+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"flexitidemo"},
		"client_secret": {"77xde15a-9d33-4c15-930a-3se4b3as33e9"}, "scope": {scope}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m["access_token"].(string)
}

// call sends a request through the gateway; it returns the status, the
// decoded error body (if any) and the headers the upstream saw (nil if it saw nothing).
func (w *world) call(method, path, token string, extra map[string]string) (int, map[string]any, http.Header) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.gateway+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	select {
	case h := <-w.forwarded:
		return resp.StatusCode, m, h
	default:
		return resp.StatusCode, m, nil
	}
}

var customerEndpoints = []struct{ method, path string }{
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/merchants/login"},
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/widget/init"},
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/apply"},
	{"GET", "/flexiti/pos-api/v2.5/client-id/flexitidemo/terms-and-conditions"},
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/information"},
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/accounts/4000123/calculate-interest"},
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/account/4000123/verify"},
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/authorization"},
}

var merchantOnly = []struct{ method, path string }{
	{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/orders"},
	{"GET", "/flexiti/pos-api/v2.5/client-id/flexitidemo/terms-and-conditions/archive"},
	{"GET", "/flexiti/pos-api/v2.5/reports/daily"},
	{"DELETE", "/flexiti/pos-api/v2.5/client-id/flexitidemo/apply"},
}

func testFlexitiRules(t *testing.T, remote bool) {
	w := newWorld(t, "../../examples/flexiti-gateway.yaml", remote)
	customer, merchant := w.token("customer"), w.token("merchant")
	for _, ep := range customerEndpoints {
		status, body, seen := w.call(ep.method, ep.path, customer, nil)
		if status != 200 || seen == nil {
			t.Errorf("customer token on %s %s: %d %v", ep.method, ep.path, status, body)
			continue
		}
		if seen.Get(gateway.HeaderClientID) != "flexitidemo" || seen.Get(gateway.HeaderMerchantID) != "123456" ||
			seen.Get(gateway.HeaderScope) != "customer" || seen.Get(gateway.HeaderResourceOwnerType) != "merchant" {
			t.Errorf("identity headers forwarded: %v", seen)
		}
	}
	for _, ep := range merchantOnly {
		status, body, seen := w.call(ep.method, ep.path, customer, nil)
		if status != http.StatusForbidden || body["error"] != "insufficient_scope" || seen != nil {
			t.Errorf("customer token on merchant-only %s %s: %d %v", ep.method, ep.path, status, body)
		}
	}
	for _, ep := range append(customerEndpoints, merchantOnly...) {
		if status, body, _ := w.call(ep.method, ep.path, merchant, nil); status != 200 {
			t.Errorf("merchant token on %s %s: %d %v", ep.method, ep.path, status, body)
		}
	}
	// Another client's path.
	if status, body, seen := w.call("POST", "/flexiti/pos-api/v2.5/client-id/someone-else/apply", merchant, nil); status != http.StatusForbidden || seen != nil {
		t.Errorf("path of another client: %d %v", status, body)
	}
	// Spoofed identity headers never reach the upstream.
	_, _, seen := w.call("POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/apply", customer,
		map[string]string{"X-Latchkey-Merchant-Id": "999999", "X-Latchkey-Scope": "merchant", "X-Latchkey-Admin": "yes"})
	if seen == nil || seen.Get("X-Latchkey-Merchant-Id") != "123456" || seen.Get("X-Latchkey-Scope") != "customer" || seen.Get("X-Latchkey-Admin") != "" {
		t.Errorf("spoofed headers: %v", seen)
	}
	// Public token route, tokens in the query string, unmatched routes.
	if status, _, seen := w.call("POST", "/flexiti/pos-api/v2.5/oauth/token", "", map[string]string{"X-Latchkey-Subject": "x"}); status != 200 || seen.Get("X-Latchkey-Subject") != "" {
		t.Errorf("public route: %d %v", status, seen)
	}
	if status, body, _ := w.call("GET", "/flexiti/pos-api/v2.5/reports/daily?access_token="+merchant, "", nil); status != 400 || body["error"] != "invalid_request" {
		t.Errorf("query string token: %d %v", status, body)
	}
	if status, _, seen := w.call("GET", "/admin", merchant, nil); status != http.StatusForbidden || seen != nil {
		t.Errorf("unmatched route: %d", status)
	}
	// Unknown, revoked and expired tokens.
	ctx := context.Background()
	revoked := w.token("merchant")
	if err := w.store.RevokeAccessToken(ctx, secrets.TokenID(revoked), time.Now()); err != nil {
		t.Fatal(err)
	}
	expired, expiredID := w.keys.NewToken(secrets.AccessTokenKind)
	past := time.Now().Add(-time.Hour)
	if err := w.store.CreateTokens(ctx, storage.TokenSet{Access: &storage.AccessToken{ID: expiredID, FamilyID: "f", ClientID: "flexitidemo",
		Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "123456"}, Scopes: []string{"merchant"}, IssuedAt: past, ExpiresAt: past.Add(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"unknown": "lk_at_nope", "revoked": revoked, "expired": expired, "none": ""} {
		req, _ := http.NewRequest("GET", w.gateway+"/flexiti/pos-api/v2.5/reports/daily", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != 401 || m["error"] != "invalid_token" || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s token: %d %v %q", name, resp.StatusCode, m, resp.Header.Get("WWW-Authenticate"))
		}
		select {
		case <-w.forwarded:
			t.Errorf("%s token reached the upstream", name)
		default:
		}
	}
}

func TestFlexitiRulesSharedDatabase(t *testing.T) { testFlexitiRules(t, false) }

func TestFlexitiRulesIntrospection(t *testing.T) { testFlexitiRules(t, true) }

// TestPaytronixErrorShape: a paytronix rule file answers bad tokens in the dialect's shape.
func TestPaytronixErrorShape(t *testing.T) {
	w := newWorld(t, "../../examples/paytronix-gateway.yaml", false)
	status, body, _ := w.call("GET", "/rest/20.4/guest/userInformation.json", "lk_at_expired", nil)
	if status != 401 || body["result"] != "failure" || body["errorCode"] != "invalid_token" || body["errorMessage"] == "" {
		t.Fatalf("paytronix invalid token: %d %v", status, body)
	}
}

func TestExampleRulesLoad(t *testing.T) {
	for _, f := range []string{"flexiti", "paytronix", "aston"} {
		r, err := gateway.LoadRules("../../examples/" + f + "-gateway.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gateway.New(r, &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, gateway.CoreVerifier{}, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func TestBadRules(t *testing.T) {
	for want, rules := range map[string]string{
		"field routs":       "routs: []",
		"no routes":         "dialect: flexiti",
		`dialect "acme"`:    "dialect: acme\nroutes: [{match: /}]",
		"binds {id}":        "routes: [{match: '/a/{x}', bind: {id: client}}]",
		`to "owner"`:        "routes: [{match: '/a/{x}', bind: {x: owner}}]",
		"public but":        "routes: [{match: /a, public: true, scopes: {any: [a]}}]",
		"must be an http":   "upstream: ftp://x\nroutes: [{match: /}]",
		"conflicts with":    "routes: [{match: 'GET /a/{x}'}, {match: 'GET /a/{y}'}]",
		"introspection nee": "introspection: {url: x}\nroutes: [{match: /}]",
		"jwt needs":         "jwt: {audience: x}\nroutes: [{match: /}]",
	} {
		r, err := gateway.ParseRules([]byte(rules), "test.yaml")
		if err == nil {
			_, err = gateway.New(r, &url.URL{Scheme: "http", Host: "x"}, gateway.CoreVerifier{}, nil)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", rules, err, want)
		}
	}
}

type named string

func (n named) Verify(context.Context, string) (*bearer.Claims, error) {
	return &bearer.Claims{Subject: string(n)}, nil
}

func TestWithJWTRoutesByTokenFormat(t *testing.T) {
	v := gateway.WithJWT(named("jwt"), named("introspection"))
	for token, want := range map[string]string{"eyJhbGciOiJFUzI1NiJ9.eyJ9.sig": "jwt", "lk_at_opaque": "introspection"} {
		if c, _ := v.Verify(context.Background(), token); c.Subject != want {
			t.Errorf("%s went to %s, want %s", token, c.Subject, want)
		}
	}
}
