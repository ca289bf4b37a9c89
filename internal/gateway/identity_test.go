package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/gateway"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
)

// Demo clients, and the test's own client bound to merchant m-1001 of organization o-2001.
const (
	guestClient, guestSecret     = "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK", "654secretnx4"
	flexitiClient, flexitiSecret = "flexitidemo", "77xde15a-9d33-4c15-930a-3se4b3as33e9"
	astonPOS, astonPOSSecret     = "aston-pos", "aston-pos-secret"
)

// formatSite is a demo latchkey whose clients issue access tokens in format.
// Each format gets its own site because a client's format is cached by the
// server once read; setting it before any request means no cache predates it.
func formatSite(t *testing.T, format string) *demoserver.Site {
	t.Helper()
	site := demoserver.Start(t, demoserver.Options{})
	ctx := context.Background()
	for _, id := range []string{guestClient, flexitiClient} {
		if err := site.Store.UpdateClient(ctx, id, func(c storage.Client) (storage.Client, error) {
			c.AccessTokenFormat = format
			return c, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	pos := storage.Client{ID: astonPOS, Name: "Aston POS", SecretHash: site.Keys.HashClientSecret(astonPOSSecret),
		GrantTypes: []string{oauth.GrantPassword, oauth.GrantClientCredentials}, Scopes: []string{"posapi"}, DefaultScopes: []string{"posapi"},
		AccessTokenTTL: 10 * time.Minute, MerchantID: "m-1001", AccountKind: storage.Staff, AccessTokenFormat: format, CreatedAt: time.Now()}
	if err := site.Store.CreateClient(ctx, pos); err != nil {
		t.Fatal(err)
	}
	return site
}

// grantToken asks site's token endpoint for an access token.
func grantToken(t *testing.T, site *demoserver.Site, client, secret string, form url.Values) string {
	t.Helper()
	form = maps.Clone(form)
	form.Set("client_id", client)
	form.Set("client_secret", secret)
	resp, err := http.PostForm(site.URL+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token for %s: %d %v %v", client, resp.StatusCode, m, err)
	}
	return m["access_token"].(string)
}

// identityOf is the identity headers of a forwarded request.
func identityOf(h http.Header) map[string]string {
	out := map[string]string{}
	for name := range h {
		if strings.HasPrefix(name, gateway.HeaderPrefix) {
			out[name] = h.Get(name)
		}
	}
	return out
}

// TestIdentityHeadersSameForOpaqueAndJWT: for the same grant, the upstream
// sees the same identity whether the client issues opaque or JWT access
// tokens, and whichever verifier the gateway checks them with.
func TestIdentityHeadersSameForOpaqueAndJWT(t *testing.T) {
	cases := []struct {
		name, client, secret string
		form                 url.Values
		want                 map[string]string
	}{
		{"guest password grant", guestClient, guestSecret,
			url.Values{"grant_type": {"password"}, "username": {"johndoe"}, "password": {"open456"}, "scope": {"user_read account_read"}},
			map[string]string{gateway.HeaderSubject: "acc_demo_johndoe", gateway.HeaderClientID: guestClient, gateway.HeaderUsername: "johndoe",
				gateway.HeaderMerchantID: "777777", gateway.HeaderResourceOwnerType: "guest", gateway.HeaderScope: "user_read account_read"}},
		{"staff of a merchant in an organization", astonPOS, astonPOSSecret,
			url.Values{"grant_type": {"password"}, "username": {"owner@astonclub.example"}, "password": {"correct-horse-battery"}},
			map[string]string{gateway.HeaderSubject: "acc_demo_aston_owner", gateway.HeaderClientID: astonPOS,
				gateway.HeaderUsername: "owner@astonclub.example", gateway.HeaderMerchantID: "m-1001", gateway.HeaderOrganizationID: "o-2001",
				gateway.HeaderResourceOwnerType: "merchant", gateway.HeaderScope: "posapi"}},
		{"client credentials of a client bound to a merchant in an organization", astonPOS, astonPOSSecret,
			url.Values{"grant_type": {"client_credentials"}},
			map[string]string{gateway.HeaderSubject: astonPOS, gateway.HeaderClientID: astonPOS, gateway.HeaderMerchantID: "m-1001",
				gateway.HeaderOrganizationID: "o-2001", gateway.HeaderResourceOwnerType: "merchant", gateway.HeaderScope: "posapi"}},
		{"client credentials of a client bound to a merchant", flexitiClient, flexitiSecret,
			url.Values{"grant_type": {"client_credentials"}, "scope": {"customer"}},
			map[string]string{gateway.HeaderSubject: flexitiClient, gateway.HeaderClientID: flexitiClient, gateway.HeaderMerchantID: "123456",
				gateway.HeaderResourceOwnerType: "merchant", gateway.HeaderScope: "customer"}},
	}

	forwarded := make(chan http.Header, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded <- r.Header.Clone()
	}))
	t.Cleanup(upstream.Close)
	upURL, _ := url.Parse(upstream.URL)
	rules, err := gateway.ParseRules([]byte("routes: [{match: /}]"), "identity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	serve := func(v bearer.Verifier) string {
		g, err := gateway.New(rules, upURL, v, log)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// pass sends token through the gateway at gw and returns the identity the upstream saw.
	pass := func(gw, token string) (int, map[string]string) {
		req, _ := http.NewRequest(http.MethodGet, gw+"/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		select {
		case h := <-forwarded: // sent before the upstream answered, so here by now
			return resp.StatusCode, identityOf(h)
		default:
			return resp.StatusCode, nil
		}
	}

	type checker struct{ name, gateway string }
	formats := map[string][]checker{}
	sites := map[string]*demoserver.Site{}
	for _, format := range []string{"opaque", "jwt"} {
		site := formatSite(t, format)
		sites[format] = site
		core, err := oauth.New(oauth.Config{Store: site.Store, Keys: site.Keys, Issuer: site.URL, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		shared := gateway.CoreVerifier{Core: core}
		// The gateway introspects as the demo's resource server, which may see every client's tokens.
		remote := bearer.NewIntrospector(site.URL+"/oauth2/introspect", "demo-api", "demo-api-secret", bearer.IntrospectorOptions{CacheTTL: -1})
		formats[format] = []checker{{"shared database", serve(shared)}, {"introspection", serve(remote)}}
		if format == "jwt" {
			local := bearer.NewJWTVerifier(site.URL, "", site.URL)
			formats[format] = append(formats[format], checker{"local JWT", serve(gateway.WithJWT(local, shared))})
		}
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for format, checkers := range formats {
				token := grantToken(t, sites[format], tc.client, tc.secret, tc.form)
				if bearer.LooksLikeJWT(token) != (format == "jwt") {
					t.Fatalf("%s client issued %q", format, token)
				}
				for _, c := range checkers {
					status, seen := pass(c.gateway, token)
					if status != http.StatusOK || !maps.Equal(seen, tc.want) {
						t.Errorf("%s token checked by %s: %d, identity %v\nwant %v", format, c.name, status, seen, tc.want)
					}
				}
			}
		})
	}
}
