// Package demo holds the demo data of docs/DEMO.md, taken from the vendor
// documents the dialects imitate, and loads it into a store.
package demo

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Account is a demo account with its password in clear.
type Account struct {
	storage.Account
	Password string
}

// Client is a demo client with its secret in clear (empty for a public client).
type Client struct {
	storage.Client
	Secret string
}

// Grant types, spelled as RFC 6749 spells them.
const (
	code     = "authorization_code"
	password = "password"
	clientCr = "client_credentials"
	refresh  = "refresh_token"
	device   = "urn:ietf:params:oauth:grant-type:device_code" // RFC 8628
)

// refreshTTL is the demo clients' refresh token family lifetime: 30 days,
// long enough for a demo that is left running, short enough that a leaked
// refresh token does not live forever.
const refreshTTL = 30 * 24 * time.Hour

// grace is how long a retried refresh gets the same successor.
const grace = 10 * time.Second

// Organizations of the demo.
var Organizations = []storage.Organization{{ID: "o-2001", Name: "Aston Group"}}

// Merchants of the demo.
var Merchants = []storage.Merchant{
	{ID: "777777", Name: "Demo Loyalty"},
	{ID: "123456", Name: "ACME Jewellers"},
	{ID: "m-1001", Name: "Aston Cafe", OrganizationID: "o-2001"},
	{ID: "m-1002", Name: "Aston Bistro", OrganizationID: "o-2001"},
}

// Accounts of the demo.
var Accounts = []Account{
	{Account: storage.Account{ID: "acc_demo_johndoe", Kind: storage.Guest, MerchantID: "777777", Username: "johndoe",
		PrintedCardNumber: "6000986775"}, Password: "open456"},
	{Account: storage.Account{ID: "acc_demo_acmejewellers", Kind: storage.Staff, Username: "acmejewellers",
		Memberships: []storage.Membership{{Type: storage.OwnerMerchant, ID: "123456"}}}, Password: "dice-vanila-purse"},
	{Account: storage.Account{ID: "acc_demo_aston_owner", Kind: storage.Staff, Username: "owner@astonclub.example",
		Memberships: []storage.Membership{{Type: storage.OwnerMerchant, ID: "m-1001"}, {Type: storage.OwnerMerchant, ID: "m-1002"},
			{Type: storage.OwnerOrganization, ID: "o-2001"}}}, Password: "correct-horse-battery"},
}

var guestScopes = []string{"user_read", "user_write", "account_read", "account_write"}

// OpenID Connect scopes (the openid scope makes an authorization an
// OpenID Connect sign-in; profile and email choose the claims about the
// person). Demo clients that sign people in may ask for them; none gets
// them by default.
const (
	scopeOpenID  = "openid"
	scopeProfile = "profile"
	scopeEmail   = "email"
)

// Clients of the demo.
var Clients = []Client{
	{Client: storage.Client{ID: "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK", Name: "Demo Loyalty app",
		GrantTypes: []string{password, refresh, code}, Scopes: guestScopes, DefaultScopes: guestScopes,
		AccessTokenTTL: 1800 * time.Second, RefreshTokenTTL: refreshTTL, MerchantID: "777777", AccountKind: storage.Guest,
		RefreshGrace: grace, AccessTokenFormat: "opaque", Dialect: dialect.Paytronix}, Secret: "654secretnx4"}, // keeps its refresh token, as seed 000 shows
	{Client: storage.Client{ID: "awesomesite", Name: "My Awesome Website",
		GrantTypes: []string{code, refresh}, Scopes: append(slices.Clone(guestScopes), scopeOpenID, scopeProfile), DefaultScopes: guestScopes,
		RedirectURIs: []string{"https://www.myawesomewebsite.com/login"}, PostLogoutRedirectURIs: []string{"https://www.myawesomewebsite.com/"},
		AccessTokenTTL: 1800 * time.Second, RefreshTokenTTL: refreshTTL, MerchantID: "777777", AccountKind: storage.Guest, SkipConsent: true,
		RefreshGrace: grace, AccessTokenFormat: "opaque", Dialect: dialect.Paytronix}, Secret: "awesomesite-demo-secret"}, // the dialect's default: keeps its refresh token
	{Client: storage.Client{ID: "flexitidemo", Name: "Flexiti POS demo",
		GrantTypes: []string{clientCr, password, refresh}, Scopes: []string{"merchant", "customer"}, DefaultScopes: []string{"merchant"},
		AccessTokenTTL: 1200 * time.Second, RefreshTokenTTL: refreshTTL, MerchantID: "123456", AccountKind: storage.Staff,
		RotateRefresh: true, RefreshGrace: grace, AccessTokenFormat: "opaque", Dialect: dialect.Flexiti,
		ClientCredentialsRefresh: true}, Secret: "77xde15a-9d33-4c15-930a-3se4b3as33e9"},
	// The Aston seed's client keeps one refresh token for good: no rotation,
	// no family lifetime (RefreshTokenTTL 0), access tokens for a year.
	{Client: storage.Client{ID: "test_client", Name: "Aston test app",
		GrantTypes: []string{code, refresh}, Scopes: []string{"posapi", "aston-api:transaction.read", "aston-api:transaction.submit"},
		DefaultScopes: []string{"posapi", "aston-api:transaction.read", "aston-api:transaction.submit"},
		RedirectURIs:  []string{"https://youwebapp.com/oauth"}, AccessTokenTTL: 31536000 * time.Second, AccountKind: storage.Staff,
		RotateRefresh: false, AccessTokenFormat: "opaque", Dialect: dialect.Aston}, Secret: "asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj"},
	{Client: storage.Client{ID: SPAClientID, Name: "Demo single-page app",
		GrantTypes: []string{code, refresh}, Scopes: []string{"user_read", "account_read", scopeOpenID, scopeProfile, scopeEmail},
		DefaultScopes: []string{"user_read", "account_read"}, RedirectURIs: []string{SPARedirectURI},
		PostLogoutRedirectURIs: []string{SPAPostLogoutRedirectURI}, AccessTokenTTL: 1800 * time.Second, RefreshTokenTTL: refreshTTL,
		AccountKind: storage.Staff, RequirePKCE: true, RotateRefresh: true, RefreshGrace: grace, AccessTokenFormat: "opaque"}},
	// A till paired with a merchant by the device grant (RFC 8628): it has
	// no browser, so a manager approves it on another screen.
	{Client: storage.Client{ID: DemoTerminalClientID, Name: "Demo POS terminal",
		GrantTypes: []string{device, refresh}, Scopes: []string{"posapi"}, DefaultScopes: []string{"posapi"},
		AccessTokenTTL: 3600 * time.Second, RefreshTokenTTL: refreshTTL, AccountKind: storage.Staff,
		RotateRefresh: true, RefreshGrace: grace, AccessTokenFormat: "opaque"}},
	// The platform's back office: bound to no tenant, its latchkey:admin
	// tokens administer everything through the admin API.
	{Client: storage.Client{ID: DemoAdminClientID, Name: "Demo back office (admin API)",
		GrantTypes: []string{clientCr}, Scopes: []string{"latchkey:admin"}, DefaultScopes: []string{"latchkey:admin"},
		AccessTokenTTL: 900 * time.Second, AccountKind: storage.Staff, RotateRefresh: true, RefreshGrace: grace,
		AccessTokenFormat: "opaque"}, Secret: DemoAdminSecret},
	// The platform's API as a resource server: bound to no merchant and
	// allowed to introspect, it may look up any tenant's tokens, which no
	// other demo client may (each introspects only its own).
	{Client: storage.Client{ID: DemoAPIClientID, Name: "Demo platform API (resource server)",
		GrantTypes: []string{clientCr}, AccessTokenTTL: 1800 * time.Second, AccountKind: storage.Staff,
		RotateRefresh: true, RefreshGrace: grace, AccessTokenFormat: "opaque", Introspect: true}, Secret: DemoAPISecret},
}

// The resource server of the demo, which tests and the gateway's examples
// introspect with.
const (
	// DemoTerminalClientID is the public client of the device grant example.
	DemoTerminalClientID = "demo-terminal"
	// DemoAdminClientID and DemoAdminSecret are the admin API's demo credential.
	DemoAdminClientID = "demo-admin"
	DemoAdminSecret   = "demo-admin-secret"
	DemoAPIClientID   = "demo-api"
	DemoAPISecret     = "demo-api-secret"
)

// Load adds whatever of the demo data is missing. It never changes a row
// that exists, but for one thing: a demo client, found by its id, that
// lacks scopes or post-logout redirect URIs the demo now gives it (one
// loaded by an older release) gets them added, keeping everything else,
// its secret and what an operator added included. Running it twice
// changes nothing.
func Load(ctx context.Context, st storage.Storage, keys *secrets.Keys) error {
	now := time.Now()
	for _, o := range Organizations {
		o.CreatedAt = now
		if err := ignoreExisting(st.CreateOrganization(ctx, o)); err != nil {
			return fmt.Errorf("load demo organization %q: %w", o.ID, err)
		}
	}
	for _, m := range Merchants {
		m.CreatedAt = now
		if err := ignoreExisting(st.CreateMerchant(ctx, m)); err != nil {
			return fmt.Errorf("load demo merchant %q: %w", m.ID, err)
		}
	}
	for _, a := range Accounts {
		if _, err := st.GetAccount(ctx, a.ID); err == nil {
			continue // hashing is slow on purpose; skip what is there
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("load demo account %q: %w", a.Username, err)
		}
		acc := a.Account
		h, err := secrets.HashPassword(a.Password, secrets.DefaultArgon2)
		if err != nil {
			return fmt.Errorf("hash demo password: %w", err)
		}
		acc.PasswordHash, acc.CreatedAt = h, now
		if err := ignoreExisting(st.CreateAccount(ctx, acc)); err != nil {
			return fmt.Errorf("load demo account %q: %w", a.Username, err)
		}
	}
	for _, c := range Clients {
		cl := c.Client
		if c.Secret != "" {
			cl.SecretHash = keys.HashClientSecret(c.Secret)
		}
		cl.CreatedAt = now
		err := st.CreateClient(ctx, cl)
		if errors.Is(err, storage.ErrAlreadyExists) {
			err = upgradeClient(ctx, st, c.Client)
		}
		if err != nil {
			return fmt.Errorf("load demo client %q: %w", c.ID, err)
		}
	}
	return nil
}

// upgradeClient adds to the stored demo client want.ID the scopes and
// post-logout redirect URIs of want it lacks, and writes nothing when it
// lacks none.
func upgradeClient(ctx context.Context, st storage.Storage, want storage.Client) error {
	c, err := st.GetClient(ctx, want.ID)
	if err != nil {
		return err
	}
	if !missing(c.Scopes, want.Scopes) && !missing(c.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs) {
		return nil
	}
	return st.UpdateClient(ctx, want.ID, func(c storage.Client) (storage.Client, error) {
		c.Scopes = addMissing(c.Scopes, want.Scopes)
		c.PostLogoutRedirectURIs = addMissing(c.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs)
		return c, nil
	})
}

// missing reports whether some of want is not in have.
func missing(have, want []string) bool {
	return slices.ContainsFunc(want, func(s string) bool { return !slices.Contains(have, s) })
}

// addMissing appends to have, in want's order, what of want it lacks.
func addMissing(have, want []string) []string {
	for _, s := range want {
		if !slices.Contains(have, s) {
			have = append(have, s)
		}
	}
	return have
}

func ignoreExisting(err error) error {
	if errors.Is(err, storage.ErrAlreadyExists) {
		return nil
	}
	return err
}

// The authorization code example with PKCE (RFC 7636), for the public
// client demo-spa: the banner prints it and the demo's callback page
// (web.Handler.RouteDemoCallback) completes it.
const (
	// SPAClientID is the example's public client.
	SPAClientID = "demo-spa"
	// SPARedirectURI is demo-spa's only redirect URI. Redirect URIs match
	// exactly, so the example needs the demo reachable there.
	SPARedirectURI = spaOrigin + "/callback"
	// SPAPostLogoutRedirectURI is demo-spa's post-logout redirect URI, on
	// the origin its redirect URI is on; latchkey serve --demo answers it
	// with the signed-out page, as it answers the redirect URI.
	SPAPostLogoutRedirectURI = spaOrigin + "/signed-out"
	// spaOrigin is the origin demo-spa's URIs are on: the default address
	// of latchkey serve.
	spaOrigin = "http://127.0.0.1:8080"
	// PKCEVerifier is the example's code_verifier. It is fixed, and so
	// public, so that the printed commands work as pasted; a real client
	// makes a fresh one for every authorization (RFC 7636 §4.1).
	PKCEVerifier = "latchkey-demo-code-verifier.public-on-purpose"
	// PKCEState is the example's state.
	PKCEState = "demo-pkce"
	// PKCENonce is the example's OpenID Connect nonce, echoed in its ID token.
	PKCENonce = "demo-nonce"
	// pkceScope asks for an ID token and userinfo too (OpenID Connect).
	pkceScope = "openid profile email user_read"
)

// PKCEChallenge is PKCEVerifier's S256 code_challenge (RFC 7636 §4.2).
func PKCEChallenge() string {
	sum := sha256.Sum256([]byte(PKCEVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthorizeURL is the example's authorization request to the server at base.
func AuthorizeURL(base string) string {
	// Built by hand to keep the order people read in (url.Values sorts).
	return base + "/oauth2/authorize?response_type=code&client_id=" + SPAClientID +
		"&redirect_uri=" + url.QueryEscape(SPARedirectURI) + "&code_challenge=" + PKCEChallenge() +
		"&code_challenge_method=S256&state=" + PKCEState + "&nonce=" + PKCENonce + "&scope=" + url.PathEscape(pkceScope)
}

// PrintInstructions prints ready-to-paste requests against base: the
// standard endpoints, the authorization code flow with PKCE, and the
// examples of the dialects served (the names dialect.Names uses). The
// admin API's example goes to adminBase (serve --admin-addr), or to base
// when it is "".
func PrintInstructions(w io.Writer, base, adminBase string, dialects []string) {
	var b strings.Builder
	fmt.Fprintf(&b, standardExamples, base)
	fmt.Fprintf(&b, pkceExample, base, AuthorizeURL(base), SPARedirectURI, PKCEVerifier)
	if !servesRedirectURI(base) {
		fmt.Fprintf(&b, pkceElsewhere, SPARedirectURI, redirectHost(), base)
	}
	fmt.Fprintf(&b, deviceExample, base, DemoTerminalClientID, device)
	for _, d := range dialect.Names() { // registry order, whatever the caller's
		if slices.Contains(dialects, d) {
			fmt.Fprintf(&b, dialectExamples[d], base)
		}
	}
	fmt.Fprintf(&b, adminExample, base, DemoAdminClientID, DemoAdminSecret, cmp.Or(adminBase, base))
	fmt.Fprintf(&b, "\n  # metadata\n  curl -s %s/.well-known/oauth-authorization-server\n\n", base)
	io.WriteString(w, b.String())
}

// redirectHost is host:port of SPARedirectURI.
func redirectHost() string {
	u, _ := url.Parse(SPARedirectURI)
	return u.Host
}

// servesRedirectURI reports whether a server at base also answers at
// SPARedirectURI's address: it listens there, or on every address of
// that port.
func servesRedirectURI(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	want, _ := url.Parse(SPARedirectURI)
	if u.Port() != want.Port() {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == want.Hostname() || ip != nil && ip.IsUnspecified()
}

const standardExamples = `
Demo data loaded (docs/DEMO.md). Try:

  # readiness
  curl -s %[1]s/readyz

  # standard OAuth 2.0: client credentials (flexiti demo client, HTTP Basic)
  curl -s -u 'flexitidemo:77xde15a-9d33-4c15-930a-3se4b3as33e9' -d grant_type=client_credentials %[1]s/oauth2/token

  # standard OAuth 2.0: password grant for the demo guest
  curl -s -u '3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK:654secretnx4' \
    -d grant_type=password -d username=johndoe -d password=open456 %[1]s/oauth2/token

  # introspect a token: the client it was issued to may (the flexiti client's own token)
  curl -s -u 'flexitidemo:77xde15a-9d33-4c15-930a-3se4b3as33e9' -d token=PASTE_FLEXITI_TOKEN %[1]s/oauth2/introspect

  # and so may the resource server demo-api, for any client's token (the guest's);
  # any other client is told {"active":false}
  curl -s -u 'demo-api:demo-api-secret' -d token=PASTE_GUEST_TOKEN %[1]s/oauth2/introspect
`

const pkceExample = `
  # standard OAuth 2.0: authorization code with PKCE, for the public client demo-spa
  # 1. open in a browser and sign in with a staff account (demo-spa logs in staff, not guests):
  #    owner@astonclub.example / correct-horse-battery, then pick one of its businesses and allow
  %[2]s
  # 2. the browser comes back to %[3]s, a page that shows the code and this
  #    command; code_verifier is the one whose S256 challenge the URL above carries
  curl -s -d grant_type=authorization_code \
    --data-urlencode client_id=demo-spa \
    --data-urlencode redirect_uri=%[3]s \
    --data-urlencode code_verifier=%[4]s \
    --data-urlencode code=PASTE_CODE %[1]s/oauth2/token
`

// deviceExample is the device grant's (RFC 8628): the terminal's two
// requests, with the person's part in between.
const deviceExample = `
  # standard OAuth 2.0: device authorization grant (RFC 8628) for the public client %[2]s,
  # a till without a browser
  # 1. the terminal asks for a code
  curl -s -d client_id=%[2]s %[1]s/oauth2/device_authorization
  # 2. open the verification_uri_complete it returns and approve as a staff account
  #    (owner@astonclub.example / correct-horse-battery), picking one of its businesses
  # 3. the terminal polls, no faster than every interval seconds, until the tokens come
  curl -s -d grant_type=%[3]s \
    -d client_id=%[2]s -d device_code=PASTE_DEVICE_CODE %[1]s/oauth2/token
`

// adminExample is the admin API's (docs/ADMIN-API.md): a platform admin
// token by client_credentials, then one call.
const adminExample = `
  # admin API (docs/ADMIN-API.md): a token for the back office client %[2]s, then list the clients
  curl -s -u '%[2]s:%[3]s' -d grant_type=client_credentials %[1]s/oauth2/token
  curl -s -H "Authorization: Bearer PASTE_TOKEN" %[4]s/admin/v1/clients
`

const pkceElsewhere = `  #    note: %[1]s is demo-spa's only redirect URI and redirect URIs match
  #    exactly, so this example needs the demo on %[2]s; this one listens on %[3]s
`

// dialectExamples are the banner's examples of each dialect.
var dialectExamples = map[string]string{
	dialect.Paytronix: `
  # Paytronix dialect: guest token (the seed's JSON body)
  curl -s -H 'Content-Type: application/json' %[1]s/oauth/requestGuestToken.json -d '{"authentication":"anonymous",
    "client_id":"3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK","client_secret":"654secretnx4","merchantId":777777,
    "grant_type":"password","scope":"user_read user_write account_read account_write","username":"johndoe","password":"open456"}'
`,
	dialect.Flexiti: `
  # Flexiti dialect: client credentials
  curl -s -H 'x-reference-id: demo-1' -d client_id=flexitidemo -d client_secret=77xde15a-9d33-4c15-930a-3se4b3as33e9 \
    %[1]s/flexiti/pos-api/v2.5/oauth/token
`,
	dialect.Aston: `
  # Aston dialect: open in a browser, sign in as owner@astonclub.example / correct-horse-battery
  %[1]s/authorize/merchant?client_id=test_client&response_type=code&redirect_uri=https://youwebapp.com/oauth&scope=posapi&state=xyz
`,
}
