package demo_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

func TestDemoClientsAreValid(t *testing.T) {
	for _, c := range demo.Clients {
		cl := c.Client
		if c.Secret != "" {
			cl.SecretHash = "x"
		}
		if err := oauth.ValidateClient(cl, dialect.Names()); err != nil {
			t.Errorf("demo client %s: %v", c.ID, err)
		}
		// And the rules of a client registered through the directory.
		if err := oauth.CheckClient(c.Client, oauth.ClientChoices{Public: c.Secret == ""}, dialect.ClientDefaults()); err != nil {
			t.Errorf("demo client %s: %v", c.ID, err)
		}
	}
}

// The demo table of docs/DEMO.md, written out again here so that a change to
// the package's data that breaks the contract fails this test.
var (
	wantOrganizations = map[string]string{"o-2001": "Aston Group"}
	wantMerchants     = map[string][2]string{ // id: name, organization
		"777777": {"Demo Loyalty", ""},
		"123456": {"ACME Jewellers", ""},
		"m-1001": {"Aston Cafe", "o-2001"},
		"m-1002": {"Aston Bistro", "o-2001"},
	}
)

type wantAccount struct {
	kind        storage.AccountKind
	merchant    string
	username    string
	password    string
	card        string
	memberships []storage.Membership
}

var wantAccounts = []wantAccount{
	{storage.Guest, "777777", "johndoe", "open456", "6000986775", nil},
	{storage.Staff, "", "acmejewellers", "dice-vanila-purse", "", []storage.Membership{{Type: storage.OwnerMerchant, ID: "123456"}}},
	{storage.Staff, "", "owner@astonclub.example", "correct-horse-battery", "", []storage.Membership{
		{Type: storage.OwnerMerchant, ID: "m-1001"}, {Type: storage.OwnerMerchant, ID: "m-1002"},
		{Type: storage.OwnerOrganization, ID: "o-2001"}}},
}

type wantClient struct {
	id, secret     string
	merchant       string
	kind           storage.AccountKind
	grants         []string
	scopes         []string
	defaultScopes  []string
	redirects      []string
	access         time.Duration
	rotate         bool
	skipConsent    bool
	pkce           bool
	dialect        string
	ownRefreshTime bool // the refresh family lifetime is set (30 days)
}

var guestScopes = []string{"user_read", "user_write", "account_read", "account_write"}
var guestOIDCScopes = append(slices.Clone(guestScopes), "openid", "profile")
var astonScopes = []string{"posapi", "aston-api:transaction.read", "aston-api:transaction.submit"}

var wantClients = []wantClient{
	{"3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK", "654secretnx4", "777777", storage.Guest,
		[]string{"password", "refresh_token", "authorization_code"}, guestScopes, guestScopes, nil,
		1800 * time.Second, false, false, false, "paytronix", true},
	{"awesomesite", "awesomesite-demo-secret", "777777", storage.Guest,
		[]string{"authorization_code", "refresh_token"}, guestOIDCScopes, guestScopes, []string{"https://www.myawesomewebsite.com/login"},
		1800 * time.Second, false, true, false, "paytronix", true},
	{"flexitidemo", "77xde15a-9d33-4c15-930a-3se4b3as33e9", "123456", storage.Staff,
		[]string{"client_credentials", "password", "refresh_token"}, []string{"merchant", "customer"}, []string{"merchant"}, nil,
		1200 * time.Second, true, false, false, "flexiti", true},
	{"test_client", "asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj", "", storage.Staff,
		[]string{"authorization_code", "refresh_token"}, astonScopes, astonScopes, []string{"https://youwebapp.com/oauth"},
		31536000 * time.Second, false, false, false, "aston", false},
	{"demo-spa", "", "", storage.Staff,
		[]string{"authorization_code", "refresh_token"}, []string{"user_read", "account_read", "openid", "profile", "email"},
		[]string{"user_read", "account_read"}, []string{"http://127.0.0.1:8080/callback"}, 1800 * time.Second, true, false, true, "", true},
	{"demo-terminal", "", "", storage.Staff,
		[]string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}, []string{"posapi"}, []string{"posapi"}, nil,
		3600 * time.Second, true, false, false, "", true},
	{"demo-admin", "demo-admin-secret", "", storage.Staff,
		[]string{"client_credentials"}, []string{"latchkey:admin"}, []string{"latchkey:admin"}, nil, 900 * time.Second, true, false, false, "", false},
	{"demo-api", "demo-api-secret", "", storage.Staff,
		[]string{"client_credentials"}, nil, nil, nil, 1800 * time.Second, true, false, false, "", false},
}

// wantIntrospect are the clients registered as resource servers.
var wantIntrospect = map[string]bool{"demo-api": true}

// wantPostLogout are the clients' post-logout redirect URIs (OpenID Connect
// RP-initiated logout); the others have none.
var wantPostLogout = map[string][]string{
	"awesomesite": {"https://www.myawesomewebsite.com/"},
	"demo-spa":    {"http://127.0.0.1:8080/signed-out"},
}

// sameSet reports whether a and b hold the same strings in any order.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func sortedMemberships(ms []storage.Membership) []storage.Membership {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b storage.Membership) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
	return ms
}

// normalizeClient clears what Load fills in and what a round trip through
// the database may spell differently (nil or empty lists).
func normalizeClient(c storage.Client) storage.Client {
	c.SecretHash, c.CreatedAt = "", time.Time{}
	for _, p := range []*[]string{&c.GrantTypes, &c.Scopes, &c.DefaultScopes, &c.RedirectURIs, &c.PostLogoutRedirectURIs} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return c
}

// checkDemo asserts the store holds exactly the demo table.
func checkDemo(t *testing.T, st storage.Storage, keys *secrets.Keys) {
	t.Helper()
	ctx := context.Background()

	orgs, err := st.ListOrganizations(ctx)
	if err != nil || len(orgs) != len(wantOrganizations) {
		t.Fatalf("organizations: %+v %v", orgs, err)
	}
	for _, o := range orgs {
		if wantOrganizations[o.ID] != o.Name {
			t.Errorf("organization %s: name %q", o.ID, o.Name)
		}
	}
	merchants, err := st.ListMerchants(ctx)
	if err != nil || len(merchants) != len(wantMerchants) {
		t.Fatalf("merchants: %+v %v", merchants, err)
	}
	for _, m := range merchants {
		if w, ok := wantMerchants[m.ID]; !ok || w != [2]string{m.Name, m.OrganizationID} {
			t.Errorf("merchant %s: name %q, organization %q", m.ID, m.Name, m.OrganizationID)
		}
	}

	accounts, err := st.ListAccounts(ctx, storage.AccountFilter{})
	if err != nil || len(accounts) != len(wantAccounts) {
		t.Fatalf("accounts: %d %v", len(accounts), err)
	}
	for _, w := range wantAccounts {
		a, err := st.GetAccountByUsername(ctx, w.kind, w.merchant, w.username)
		if err != nil {
			t.Errorf("account %s: %v", w.username, err)
			continue
		}
		if a.Kind != w.kind || a.MerchantID != w.merchant || a.PrintedCardNumber != w.card || a.Disabled ||
			!reflect.DeepEqual(sortedMemberships(a.Memberships), sortedMemberships(w.memberships)) {
			t.Errorf("account %s: %+v", w.username, a)
		}
		if !strings.HasPrefix(a.ID, "acc_demo_") {
			t.Errorf("account %s: id %q is not a stable demo id", w.username, a.ID)
		}
		ok, rehash, err := secrets.VerifyPassword(a.PasswordHash, w.password, secrets.DefaultArgon2)
		if !ok || rehash || err != nil {
			t.Errorf("account %s: password does not verify (ok %v, rehash %v, err %v)", w.username, ok, rehash, err)
		}
		if ok, _, _ := secrets.VerifyPassword(a.PasswordHash, w.password+"x", secrets.DefaultArgon2); ok {
			t.Errorf("account %s: a wrong password verifies", w.username)
		}
	}

	clients, err := st.ListClients(ctx)
	if err != nil || len(clients) != len(wantClients) {
		t.Fatalf("clients: %d %v", len(clients), err)
	}
	for _, w := range wantClients {
		c, err := st.GetClient(ctx, w.id)
		if err != nil {
			t.Errorf("client %s: %v", w.id, err)
			continue
		}
		if c.MerchantID != w.merchant || c.AccountKind != w.kind || !sameSet(c.GrantTypes, w.grants) ||
			!sameSet(c.Scopes, w.scopes) || !sameSet(c.DefaultScopes, w.defaultScopes) ||
			!slices.Equal(c.RedirectURIs, w.redirects) || c.AccessTokenTTL != w.access || c.RotateRefresh != w.rotate ||
			c.SkipConsent != w.skipConsent || c.RequirePKCE != w.pkce || c.Dialect != w.dialect ||
			c.AccessTokenFormat != "opaque" || (c.RefreshTokenTTL == 30*24*time.Hour) != w.ownRefreshTime ||
			c.Introspect != wantIntrospect[w.id] || !slices.Equal(c.PostLogoutRedirectURIs, wantPostLogout[w.id]) || c.IDTokenAlg != "" {
			t.Errorf("client %s: %+v", w.id, c)
		}
		if w.secret == "" {
			if !c.Public() {
				t.Errorf("client %s: has a secret, want a public client", w.id)
			}
		} else if !keys.VerifyClientSecret(c.SecretHash, w.secret) || keys.VerifyClientSecret(c.SecretHash, w.secret+"x") ||
			strings.Contains(c.SecretHash, w.secret) {
			t.Errorf("client %s: stored secret hash %q does not verify the secret alone", w.id, c.SecretHash)
		}
	}
	// Every field the package sets survives the database, not only the contract ones.
	for _, dc := range demo.Clients {
		c, err := st.GetClient(ctx, dc.ID)
		if err != nil {
			t.Errorf("client %s: %v", dc.ID, err)
			continue
		}
		if got, want := normalizeClient(c), normalizeClient(dc.Client); !reflect.DeepEqual(got, want) {
			t.Errorf("client %s stored as\n%+v\nwant\n%+v", dc.ID, got, want)
		}
	}
}

// hashes is what a second Load must leave alone.
func hashes(t *testing.T, st storage.Storage) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	accounts, err := st.ListAccounts(ctx, storage.AccountFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		out["account "+a.ID] = a.PasswordHash + " " + a.CreatedAt.String()
	}
	clients, err := st.ListClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		out["client "+c.ID] = c.SecretHash + " " + c.CreatedAt.String()
	}
	merchants, err := st.ListMerchants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range merchants {
		out["merchant "+m.ID] = m.CreatedAt.String()
	}
	return out
}

func testLoad(t *testing.T, st storage.Storage) {
	ctx := context.Background()
	keys, err := secrets.NewKeys([]byte(strings.Repeat("d", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatalf("first load: %v", err)
	}
	first := hashes(t, st)
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatalf("second load: %v", err)
	}
	if second := hashes(t, st); !maps.Equal(first, second) {
		t.Fatalf("the second load changed rows:\nbefore %v\nafter  %v", first, second)
	}
	checkDemo(t, st, keys)

	// A row that went missing comes back; the others stay as they were.
	if err := st.DeleteClient(ctx, "demo-spa"); err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatalf("load after a delete: %v", err)
	}
	third := hashes(t, st)
	delete(first, "client demo-spa")
	delete(third, "client demo-spa")
	if !maps.Equal(first, third) {
		t.Fatalf("reloading one client changed others:\nbefore %v\nafter  %v", first, third)
	}
	checkDemo(t, st, keys)
}

// testUpgrade loads the demo into a store that holds the demo clients as
// an older release loaded them, without their OpenID Connect scopes and
// post-logout redirect URIs: Load adds what they lack and changes nothing
// else, keeping a scope an operator added.
func testUpgrade(t *testing.T, st storage.Storage) {
	ctx := context.Background()
	keys, err := secrets.NewKeys([]byte(strings.Repeat("d", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatalf("first load: %v", err)
	}
	old := map[string]storage.Client{}
	for _, id := range []string{"awesomesite", "demo-spa"} {
		if err := st.UpdateClient(ctx, id, func(c storage.Client) (storage.Client, error) {
			c.Scopes = slices.DeleteFunc(c.Scopes, func(s string) bool { return s == "openid" || s == "profile" || s == "email" })
			c.Scopes = append(c.Scopes, "operator_scope")
			c.PostLogoutRedirectURIs = nil
			return c, nil
		}); err != nil {
			t.Fatal(err)
		}
		if old[id], err = st.GetClient(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	before := hashes(t, st)
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatalf("load over older demo clients: %v", err)
	}
	if after := hashes(t, st); !maps.Equal(before, after) {
		t.Fatalf("the upgrade changed secrets or creation times:\nbefore %v\nafter  %v", before, after)
	}
	for id, o := range old {
		c, err := st.GetClient(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		w := wantClients[slices.IndexFunc(wantClients, func(w wantClient) bool { return w.id == id })]
		if !sameSet(c.Scopes, append(slices.Clone(w.scopes), "operator_scope")) {
			t.Errorf("client %s: scopes %v after the upgrade, want %v and operator_scope", id, c.Scopes, w.scopes)
		}
		if !slices.Equal(c.PostLogoutRedirectURIs, wantPostLogout[id]) {
			t.Errorf("client %s: post-logout redirect URIs %v after the upgrade, want %v", id, c.PostLogoutRedirectURIs, wantPostLogout[id])
		}
		c.Scopes, c.PostLogoutRedirectURIs = o.Scopes, o.PostLogoutRedirectURIs
		if !reflect.DeepEqual(c, o) {
			t.Errorf("client %s: the upgrade changed more than scopes and post-logout redirect URIs:\n%+v\nwas\n%+v", id, c, o)
		}
	}
	upgraded := map[string]storage.Client{}
	for id := range old {
		upgraded[id], _ = st.GetClient(ctx, id)
	}
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatalf("load after the upgrade: %v", err)
	}
	for id, u := range upgraded {
		if c, _ := st.GetClient(ctx, id); !reflect.DeepEqual(c, u) {
			t.Errorf("client %s: a load after the upgrade changed it:\n%+v\nwas\n%+v", id, c, u)
		}
	}
}

func TestUpgradeSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"),
		sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testUpgrade(t, st)
}

func TestUpgradePostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.DSN(t),
		sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testUpgrade(t, st)
}

// TestDemoIDs: account ids, the subjects of ID tokens, all start with the
// account prefix and no client id does, so the two never collide.
func TestDemoIDs(t *testing.T) {
	for _, a := range demo.Accounts {
		if !strings.HasPrefix(a.ID, "acc_") {
			t.Errorf("demo account %s: id %q does not start with acc_", a.Username, a.ID)
		}
	}
	for _, c := range demo.Clients {
		if strings.HasPrefix(c.ID, "acc_") {
			t.Errorf("demo client id %q starts with acc_, the account ids' prefix", c.ID)
		}
	}
}

// TestSPAPostLogoutRedirectURI: demo-spa's logout returns to the root of
// the origin its redirect URI is on.
func TestSPAPostLogoutRedirectURI(t *testing.T) {
	u, err := url.Parse(demo.SPARedirectURI)
	if err != nil {
		t.Fatal(err)
	}
	if want := u.Scheme + "://" + u.Host + "/signed-out"; demo.SPAPostLogoutRedirectURI != want {
		t.Fatalf("SPAPostLogoutRedirectURI %q, want %q", demo.SPAPostLogoutRedirectURI, want)
	}
	i := slices.IndexFunc(demo.Clients, func(c demo.Client) bool { return c.ID == demo.SPAClientID })
	if i < 0 || !slices.Equal(demo.Clients[i].PostLogoutRedirectURIs, []string{demo.SPAPostLogoutRedirectURI}) {
		t.Fatalf("demo-spa does not have %s as its post-logout redirect URI", demo.SPAPostLogoutRedirectURI)
	}
}

func TestLoadSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"),
		sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testLoad(t, st)
}

func TestLoadPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.DSN(t),
		sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testLoad(t, st)
}

func TestPrintInstructions(t *testing.T) {
	var b bytes.Buffer
	demo.PrintInstructions(&b, "http://127.0.0.1:9999", "", dialect.Names())
	out := b.String()
	for _, want := range []string{
		"curl -s http://127.0.0.1:9999/readyz",
		"http://127.0.0.1:9999/oauth2/token",
		"http://127.0.0.1:9999/oauth/requestGuestToken.json",
		"http://127.0.0.1:9999/flexiti/pos-api/v2.5/oauth/token",
		"http://127.0.0.1:9999/authorize/merchant?",
		"x-reference-id",
		"grant_type=client_credentials",
		`"grant_type":"password"`,
		"http://127.0.0.1:9999/oauth2/authorize?",
		"code_verifier=" + demo.PKCEVerifier,
		"owner@astonclub.example / correct-horse-battery",
		"curl -s -d client_id=demo-terminal http://127.0.0.1:9999/oauth2/device_authorization",
		"open the verification_uri_complete it returns and approve as a staff account",
		"-d grant_type=urn:ietf:params:oauth:grant-type:device_code",
		"device_code=PASTE_DEVICE_CODE",
		"curl -s -u 'demo-admin:demo-admin-secret' -d grant_type=client_credentials http://127.0.0.1:9999/oauth2/token",
		`curl -s -H "Authorization: Bearer PASTE_TOKEN" http://127.0.0.1:9999/admin/v1/clients`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("instructions lack %q:\n%s", want, out)
		}
	}
	// Every demo secret and password shown must be the real one.
	for _, c := range demo.Clients {
		if c.ID == "flexitidemo" || c.ID == "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK" || c.ID == demo.DemoAdminClientID {
			if !strings.Contains(out, c.ID) || !strings.Contains(out, c.Secret) {
				t.Errorf("instructions lack client %s with its secret", c.ID)
			}
		}
	}
	for _, a := range demo.Accounts {
		if a.Username == "owner@astonclub.example" && !strings.Contains(out, a.Password) {
			t.Errorf("instructions lack the password of %s", a.Username)
		}
	}
}

// dialectMarkers are lines only a dialect's example prints.
var dialectMarkers = map[string]string{
	dialect.Paytronix: "/oauth/requestGuestToken.json",
	dialect.Flexiti:   "/flexiti/pos-api/v2.5/oauth/token",
	dialect.Aston:     "/authorize/merchant?",
}

// TestPrintInstructionsServedDialectsOnly: the banner shows the examples of
// the dialects served and no others; the standard ones always.
func TestPrintInstructionsServedDialectsOnly(t *testing.T) {
	if names := slices.Sorted(maps.Keys(dialectMarkers)); !slices.Equal(names, slices.Sorted(slices.Values(dialect.Names()))) {
		t.Fatalf("markers for %v, dialects %v: a dialect was added, give its example a marker", names, dialect.Names())
	}
	subsets := [][]string{nil, {dialect.Paytronix}, {dialect.Flexiti}, {dialect.Aston}, {dialect.Aston, dialect.Paytronix}}
	for _, served := range subsets {
		var b bytes.Buffer
		demo.PrintInstructions(&b, "http://127.0.0.1:8080", "", served)
		out := b.String()
		for name, marker := range dialectMarkers {
			if got := strings.Contains(out, marker); got != slices.Contains(served, name) {
				t.Errorf("serving %v: the %s example shown: %v\n%s", served, name, got, out)
			}
		}
		for _, want := range []string{"/readyz", "/oauth2/token", "/oauth2/authorize?", "/.well-known/oauth-authorization-server"} {
			if !strings.Contains(out, want) {
				t.Errorf("serving %v: the standard examples lack %s", served, want)
			}
		}
	}
}

// TestPKCEExample: the printed challenge is the S256 of the printed
// verifier, the verifier is a valid one, and the authorize URL names the
// demo client as registered.
func TestPKCEExample(t *testing.T) {
	v := demo.PKCEVerifier
	if len(v) < 43 || len(v) > 128 || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" {
		t.Fatalf("code_verifier %q is not 43 to 128 unreserved characters (RFC 7636 §4.1)", v)
	}
	sum := sha256.Sum256([]byte(v))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if demo.PKCEChallenge() != challenge {
		t.Fatalf("PKCEChallenge %q, want %q", demo.PKCEChallenge(), challenge)
	}
	var b bytes.Buffer
	demo.PrintInstructions(&b, "http://127.0.0.1:8080", "", nil)
	m := regexp.MustCompile(`http://127\.0\.0\.1:8080/oauth2/authorize\?\S+`).FindString(b.String())
	u, err := url.Parse(m)
	if err != nil || m == "" {
		t.Fatalf("no authorize URL in the banner (%v):\n%s", err, b.String())
	}
	q := u.Query()
	i := slices.IndexFunc(demo.Clients, func(c demo.Client) bool { return c.ID == demo.SPAClientID })
	if i < 0 {
		t.Fatalf("no demo client %s", demo.SPAClientID)
	}
	spa := demo.Clients[i]
	if q.Get("code_challenge") != challenge || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" ||
		q.Get("client_id") != spa.ID || !slices.Equal(spa.RedirectURIs, []string{q.Get("redirect_uri")}) ||
		q.Get("redirect_uri") != demo.SPARedirectURI || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("scope") == "" ||
		slices.ContainsFunc(strings.Fields(q.Get("scope")), func(sc string) bool { return !slices.Contains(spa.Scopes, sc) }) {
		t.Fatalf("authorize URL %s does not fit client %+v", m, spa.Client)
	}
	if !spa.Public() || !spa.RequirePKCE || spa.AccountKind != storage.Staff {
		t.Fatalf("the banner says %s is a public PKCE client that logs in staff: %+v", spa.ID, spa.Client)
	}
}

// TestPrintInstructionsPKCEElsewhere: away from the redirect URI's address
// the banner says the PKCE example needs the demo there.
func TestPrintInstructionsPKCEElsewhere(t *testing.T) {
	for base, note := range map[string]bool{
		"http://127.0.0.1:8080":   false,
		"http://0.0.0.0:8080":     false, // listens on 127.0.0.1:8080 too
		"http://[::]:8080":        false,
		"http://127.0.0.1:39555":  true,
		"http://192.168.1.7:8080": true,
	} {
		var b bytes.Buffer
		demo.PrintInstructions(&b, base, "", nil)
		if got := strings.Contains(b.String(), "needs the demo on 127.0.0.1:8080"); got != note {
			t.Errorf("base %s: note shown %v, want %v:\n%s", base, got, note, b.String())
		}
	}
}

// TestPrintedIntrospection runs the banner's introspection commands against
// a demo server: each client they name is told the token is active, while
// the flexiti client asking about the guest's token, another tenant's, is
// told it is not.
func TestPrintedIntrospection(t *testing.T) {
	site := demoserver.Start(t, demoserver.Options{})
	var b bytes.Buffer
	demo.PrintInstructions(&b, site.URL, "", nil)
	const flexiti, flexitiSecret = "flexitidemo", "77xde15a-9d33-4c15-930a-3se4b3as33e9"
	tokens := map[string]string{
		"PASTE_FLEXITI_TOKEN": postForm(t, site.URL+"/oauth2/token", flexiti, flexitiSecret,
			url.Values{"grant_type": {"client_credentials"}})["access_token"].(string),
		"PASTE_GUEST_TOKEN": postForm(t, site.URL+"/oauth2/token", "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK", "654secretnx4",
			url.Values{"grant_type": {"password"}, "username": {"johndoe"}, "password": {"open456"}})["access_token"].(string),
	}
	cmds := regexp.MustCompile(`curl -s -u '([^:']+):([^']+)' -d token=(\w+) (\S+/oauth2/introspect)`).FindAllStringSubmatch(b.String(), -1)
	if len(cmds) != len(tokens) {
		t.Fatalf("%d introspection examples, want %d:\n%s", len(cmds), len(tokens), b.String())
	}
	for _, m := range cmds {
		tok, ok := tokens[m[3]]
		if !ok {
			t.Fatalf("example introspects %s, which no earlier example issues", m[3])
		}
		if got := postForm(t, m[4], m[1], m[2], url.Values{"token": {tok}}); got["active"] != true {
			t.Errorf("%s introspecting %s: %v", m[1], m[3], got)
		}
	}
	got := postForm(t, site.URL+"/oauth2/introspect", flexiti, flexitiSecret, url.Values{"token": {tokens["PASTE_GUEST_TOKEN"]}})
	if len(got) != 1 || got["active"] != false {
		t.Errorf("flexitidemo introspecting the guest's token: %v, want only active false", got)
	}
}

// TestPrintedDeviceExample runs the banner's device grant commands against
// a demo server: the authorization gives a code to enter at the server's
// /device page, and the printed poll with its device code is told the
// person has not answered yet.
func TestPrintedDeviceExample(t *testing.T) {
	site := demoserver.Start(t, demoserver.Options{})
	var b bytes.Buffer
	demo.PrintInstructions(&b, site.URL, "", nil)
	out := b.String()
	start := regexp.MustCompile(`curl -s -d client_id=(\S+) (\S+/oauth2/device_authorization)\n`).FindStringSubmatch(out)
	poll := regexp.MustCompile(`curl -s -d grant_type=(\S+) \\\n\s+-d client_id=(\S+) -d device_code=PASTE_DEVICE_CODE (\S+/oauth2/token)\n`).
		FindStringSubmatch(out)
	if start == nil || poll == nil {
		t.Fatalf("no device authorization or polling command in the banner:\n%s", out)
	}
	if start[1] != demo.DemoTerminalClientID || poll[2] != start[1] {
		t.Fatalf("the device example names clients %q and %q, want %s", start[1], poll[2], demo.DemoTerminalClientID)
	}
	status, da := postPublic(t, start[2], url.Values{"client_id": {start[1]}})
	uc, _ := da["user_code"].(string)
	dc, _ := da["device_code"].(string)
	if status != http.StatusOK || uc == "" || dc == "" || da["verification_uri"] != site.URL+"/device" ||
		da["verification_uri_complete"] != site.URL+"/device?user_code="+uc || da["interval"] != float64(5) {
		t.Fatalf("the printed device authorization: %d %v", status, da)
	}
	status, tok := postPublic(t, poll[3], url.Values{"grant_type": {poll[1]}, "client_id": {poll[2]}, "device_code": {dc}})
	if status != http.StatusBadRequest || tok["error"] != "authorization_pending" {
		t.Fatalf("the printed poll before approval: %d %v, want 400 authorization_pending", status, tok)
	}
}

// postPublic posts form without client authentication and decodes the JSON answer.
func postPublic(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: status %d, body not JSON: %v", u, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// postForm posts form with HTTP Basic credentials and decodes the JSON answer.
func postForm(t *testing.T, u, user, secret string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s as %s: status %d, %v %v", u, user, resp.StatusCode, out, err)
	}
	return out
}

// TestPrintInstructionsAdminAddr: with the admin API on its own listener,
// the banner's admin call goes there and its token request to the server.
func TestPrintInstructionsAdminAddr(t *testing.T) {
	var b strings.Builder
	demo.PrintInstructions(&b, "http://127.0.0.1:8080", "http://127.0.0.1:9090", nil)
	out := b.String()
	if !strings.Contains(out, "http://127.0.0.1:9090/admin/v1/clients") || strings.Contains(out, "8080/admin/v1") ||
		!strings.Contains(out, "grant_type=client_credentials http://127.0.0.1:8080/oauth2/token") {
		t.Fatalf("banner with --admin-addr:\n%s", out)
	}
}
