package oauth

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// A registered client's lifetimes when its registration names none: the
// admin API's, `latchkey import`'s and `latchkey client create`'s.
const (
	DefaultAccessTokenTTL  = 30 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultRefreshGrace    = 10 * time.Second

	// maxTTLSeconds (100 years) keeps a lifetime far from time.Duration's
	// overflow at 292 years.
	maxTTLSeconds = 100 * 365 * 24 * 3600
)

// ClientRegistration is a client in RFC 7591's member names and
// latchkey's: the one form the admin API and `latchkey import` read.
type ClientRegistration struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	GrantTypes              []string `json:"grant_types"`
	RedirectURIs            []string `json:"redirect_uris"`
	Scope                   string   `json:"scope"`         // space-separated
	DefaultScope            string   `json:"default_scope"` // space-separated
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	MerchantID              string   `json:"merchant_id"`
	OrganizationID          string   `json:"organization_id"`
	AccountKind             string   `json:"account_kind"`
	AccessTokenTTL          *int64   `json:"access_token_ttl"`  // seconds; 0: never expires
	RefreshTokenTTL         *int64   `json:"refresh_token_ttl"` // seconds; 0: no limit
	TokenFormat             string   `json:"token_format"`
	Dialect                 string   `json:"dialect"`
	SkipConsent             bool     `json:"skip_consent"`
	RequirePKCE             bool     `json:"require_pkce"`
	RotateRefreshTokens     *bool    `json:"rotate_refresh_tokens"`
	Introspect              bool     `json:"introspect"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	IDTokenAlg              string   `json:"id_token_signed_response_alg"`
}

// FieldError is a registration member that is missing or wrong, named as
// the registration names it.
type FieldError struct {
	Field   string
	Reason  string
	Missing bool // the member is required and absent
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Client is the client r registers, with the defaults for what r leaves
// out, and the choices CreateClient takes with it. The Directory's rules
// (CheckClient) are not applied here; a member wrong in itself is a
// *FieldError.
func (r ClientRegistration) Client() (storage.Client, ClientChoices, error) {
	c := storage.Client{ID: r.ClientID, Name: r.ClientName, GrantTypes: r.GrantTypes, RedirectURIs: r.RedirectURIs,
		Scopes: strings.Fields(r.Scope), DefaultScopes: strings.Fields(r.DefaultScope), MerchantID: r.MerchantID,
		OrganizationID: r.OrganizationID,
		AccountKind:    storage.AccountKind(cmp.Or(r.AccountKind, string(storage.Guest))), AccessTokenTTL: DefaultAccessTokenTTL,
		RefreshTokenTTL: DefaultRefreshTokenTTL, RefreshGrace: DefaultRefreshGrace, AccessTokenFormat: cmp.Or(r.TokenFormat, "opaque"),
		Dialect: r.Dialect, SkipConsent: r.SkipConsent, RequirePKCE: r.RequirePKCE, Introspect: r.Introspect,
		PostLogoutRedirectURIs: r.PostLogoutRedirectURIs, IDTokenAlg: r.IDTokenAlg}
	var o ClientChoices
	switch {
	case r.ClientName == "":
		return c, o, &FieldError{Field: "client_name", Reason: "is required", Missing: true}
	case len(r.GrantTypes) == 0:
		return c, o, &FieldError{Field: "grant_types", Reason: "is required: at least one grant type", Missing: true}
	}
	for _, ttl := range []struct {
		field string
		secs  *int64
		into  *time.Duration
	}{{"access_token_ttl", r.AccessTokenTTL, &c.AccessTokenTTL}, {"refresh_token_ttl", r.RefreshTokenTTL, &c.RefreshTokenTTL}} {
		if ttl.secs == nil {
			continue
		}
		d, err := TTLSeconds(ttl.field, *ttl.secs)
		if err != nil {
			return c, o, err
		}
		*ttl.into = d
	}
	switch r.TokenEndpointAuthMethod {
	case "", "client_secret_basic":
	case "client_secret_post":
		c.AuthMethod = string(AuthPost)
	case "none":
		o.Public = true
	default:
		return c, o, &FieldError{Field: "token_endpoint_auth_method", Reason: "must be client_secret_basic, client_secret_post or none"}
	}
	o.RotateRefresh = r.RotateRefreshTokens
	return c, o, nil
}

// TTLSeconds is the lifetime secs seconds of member field
// (access_token_ttl or refresh_token_ttl: 0 means never expires or no
// limit), bounded to 100 years; out of bounds it is a *FieldError. A
// registration and a change of a client (the admin API's PATCH) both read
// lifetimes through it.
func TTLSeconds(field string, secs int64) (time.Duration, error) {
	if secs < 0 || secs > maxTTLSeconds {
		zero := "no limit"
		if field == "access_token_ttl" {
			zero = "never expires"
		}
		return 0, &FieldError{Field: field, Reason: fmt.Sprintf("must be 0 (%s) to %d seconds", zero, int64(maxTTLSeconds))}
	}
	return time.Duration(secs) * time.Second, nil
}
