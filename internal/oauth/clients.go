package oauth

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// ValidateClient checks a client's registration before it is stored, and
// names the first field that is wrong; dialects are the names a client may
// be registered for (the dialect registry's, which the core does not import).
func ValidateClient(c storage.Client, dialects []string) error {
	if c.ID == "" || len(c.ID) > 255 || strings.ContainsAny(c.ID, ": \t\r\n") {
		return fmt.Errorf("client id %q must be 1 to 255 characters without spaces or colons", c.ID)
	}
	if len(c.GrantTypes) == 0 {
		return fmt.Errorf("client %q has no grant type: give at least one of %s", c.ID, strings.Join(GrantTypes, ", "))
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains(GrantTypes, g) {
			return fmt.Errorf("grant type %q is not supported (supported: %s)", g, strings.Join(GrantTypes, ", "))
		}
	}
	if c.Public() && c.AllowsGrant(GrantClientCredentials) {
		return fmt.Errorf("a public client cannot use the client_credentials grant")
	}
	for _, sc := range append(slices.Clone(c.Scopes), c.DefaultScopes...) {
		if _, oerr := parseScopes(sc); oerr != nil || sc == "" || strings.Contains(sc, " ") {
			return fmt.Errorf("scope %q is not a valid scope token", sc)
		}
	}
	for _, sc := range c.DefaultScopes {
		if !slices.Contains(c.Scopes, sc) {
			return fmt.Errorf("default scope %q is not among the client's scopes", sc)
		}
	}
	for _, u := range c.RedirectURIs {
		if err := validRedirectURI(u); err != nil {
			return err
		}
	}
	if c.AccessTokenTTL < 0 || c.RefreshTokenTTL < 0 || c.RefreshGrace < 0 {
		return fmt.Errorf("token lifetimes and the refresh grace period cannot be negative")
	}
	if c.AccountKind != "" && !c.AccountKind.Valid() {
		return fmt.Errorf("account kind %q must be guest or staff", c.AccountKind)
	}
	if c.MerchantID != "" && c.OrganizationID != "" {
		return fmt.Errorf("a client is bound to a merchant or to an organization, not both")
	}
	if m := c.AuthMethod; m != "" && m != string(AuthPost) {
		return fmt.Errorf("token endpoint auth method %q must be empty or %s", m, AuthPost)
	}
	if c.AccountKind == storage.Guest && c.MerchantID == "" && (c.AllowsGrant(GrantPassword) || c.AllowsGrant(GrantAuthorizationCode)) {
		return fmt.Errorf("a client that logs in guests must be bound to a merchant")
	}
	if f := c.AccessTokenFormat; f != "" && f != "opaque" && f != "jwt" {
		return fmt.Errorf("access token format %q must be opaque or jwt", f)
	}
	if d := c.Dialect; d != "" && !slices.Contains(dialects, d) {
		return fmt.Errorf("dialect %q is unknown (known: %s)", d, strings.Join(dialects, ", "))
	}
	if len(c.Audience) > 255 || strings.TrimSpace(c.Audience) != c.Audience || strings.ContainsFunc(c.Audience, unicode.IsControl) {
		return fmt.Errorf("audience %q must be at most 255 characters, without control characters or surrounding spaces", c.Audience)
	}
	if c.Audience != "" && c.AccessTokenFormat != "jwt" {
		return fmt.Errorf("an audience is only for clients with JWT access tokens (--token-format jwt)")
	}
	if c.ClientCredentialsRefresh && (!c.AllowsGrant(GrantClientCredentials) || !c.AllowsGrant(GrantRefreshToken)) {
		return fmt.Errorf("client_credentials refresh tokens need both the client_credentials and refresh_token grants")
	}
	return nil
}

// validRedirectURI applies RFC 9700 §2.1: absolute, no fragment, https
// unless it is a loopback address or a native app's private scheme.
func validRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("redirect URI %q must be an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("redirect URI %q must not have a fragment", raw)
	}
	if u.User != nil {
		return fmt.Errorf("redirect URI %q must not carry user information", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return fmt.Errorf("redirect URI %q must use https (http is only for localhost, 127.0.0.1 and [::1])", raw)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			// Native apps use reverse-domain private schemes (RFC 8252 §7.1).
			return fmt.Errorf("redirect URI %q: a custom scheme must be reverse-domain, like com.example.app", raw)
		}
	}
	return nil
}

// BoundOwner is whom every token of client c that a person or the client
// gets acts for, when c is bound to a merchant or an organization (its
// staff must be members of it; its admin tokens administer it).
func BoundOwner(c storage.Client) (storage.ResourceOwner, bool) {
	switch {
	case c.MerchantID != "":
		return storage.ResourceOwner{Type: storage.OwnerMerchant, ID: c.MerchantID}, true
	case c.OrganizationID != "":
		return storage.ResourceOwner{Type: storage.OwnerOrganization, ID: c.OrganizationID}, true
	}
	return storage.ResourceOwner{}, false
}
