package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

type clientView struct {
	ID                string   `json:"client_id"`
	Name              string   `json:"name"`
	Public            bool     `json:"public"`
	Secret            string   `json:"client_secret,omitempty"` // only right after create or rotate
	GrantTypes        []string `json:"grant_types"`
	Scopes            []string `json:"scopes"`
	DefaultScopes     []string `json:"default_scopes"`
	RedirectURIs      []string `json:"redirect_uris"`
	AccessTokenTTL    int64    `json:"access_token_ttl"`
	RefreshTokenTTL   int64    `json:"refresh_token_ttl"`
	MerchantID        string   `json:"merchant_id,omitempty"`
	OrganizationID    string   `json:"organization_id,omitempty"`
	AccountKind       string   `json:"account_kind"`
	SkipConsent       bool     `json:"skip_consent"`
	RotateRefresh     bool     `json:"refresh_rotation"`
	RefreshGrace      int64    `json:"refresh_grace"`
	RequirePKCE       bool     `json:"require_pkce"`
	AllowPlainPKCE    bool     `json:"allow_plain_pkce"`
	AccessTokenFormat string   `json:"access_token_format"`
	Dialect           string   `json:"dialect,omitempty"`
	Audience          string   `json:"audience,omitempty"`
	CCRefresh         bool     `json:"client_credentials_refresh,omitempty"`
	Introspect        bool     `json:"introspect"`
	// IDTokenAlg is the algorithm in effect: RS256 when the client names none.
	IDTokenAlg             string   `json:"id_token_signed_response_alg"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	CreatedAt              string   `json:"created_at,omitempty"`
}

func (clientView) columns() []string {
	return []string{"CLIENT ID", "NAME", "TYPE", "GRANTS", "SCOPES", "MERCHANT", "ACCESS TTL", "DIALECT"}
}

func (v clientView) row() []string {
	typ := "confidential"
	if v.Public {
		typ = "public"
	}
	if v.Introspect {
		typ += " (introspect)"
	}
	ttl := "never expires"
	if v.AccessTokenTTL > 0 {
		ttl = shortDuration(time.Duration(v.AccessTokenTTL) * time.Second)
	}
	return []string{v.ID, v.Name, typ, dash(strings.Join(v.GrantTypes, ",")), dash(strings.Join(v.Scopes, " ")),
		dash(v.MerchantID), ttl, dash(v.Dialect)}
}

// clientDetail is one client as show, create and rotate-secret print it:
// the list's columns, then the settings that decide how it logs people in
// (account kind, PKCE, token format, redirect URIs, OpenID Connect), which
// would make a list too wide. Its JSON is the clientView's.
type clientDetail struct{ clientView }

func (d clientDetail) columns() []string {
	return append(d.clientView.columns(), "ORGANIZATION", "ACCOUNT KIND", "PKCE", "TOKEN FORMAT", "REDIRECT URIS", "ID TOKEN ALG",
		"POST-LOGOUT REDIRECT URIS")
}

func (d clientDetail) row() []string {
	return append(d.clientView.row(), dash(d.OrganizationID), dash(d.AccountKind), d.pkce(), cmp.Or(d.AccessTokenFormat, "opaque"),
		dash(strings.Join(d.RedirectURIs, " ")), d.IDTokenAlg, dash(strings.Join(d.PostLogoutRedirectURIs, " ")))
}

// pkce says in one cell whether PKCE is required and whether plain is taken.
func (v clientView) pkce() string {
	s := "optional"
	if v.RequirePKCE {
		s = "required"
	}
	if v.AllowPlainPKCE {
		return s + " (S256 or plain)"
	}
	return s + " (S256)"
}

// defaultIDTokenAlg is the algorithm of the ID tokens of a client that names none.
const defaultIDTokenAlg = "RS256"

// shortDuration writes 30m rather than 30m0s, and 720h rather than 720h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// nonNil keeps empty lists as [] rather than null in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// clientOf shows a client; the secret hash is never shown.
func clientOf(c storage.Client) clientView {
	return clientView{ID: c.ID, Name: c.Name, Public: c.Public(), GrantTypes: nonNil(c.GrantTypes), Scopes: nonNil(c.Scopes),
		DefaultScopes: nonNil(c.DefaultScopes), RedirectURIs: nonNil(c.RedirectURIs), AccessTokenTTL: int64(c.AccessTokenTTL / time.Second),
		RefreshTokenTTL: int64(c.RefreshTokenTTL / time.Second), MerchantID: c.MerchantID, OrganizationID: c.OrganizationID,
		AccountKind: string(c.AccountKind), SkipConsent: c.SkipConsent, RotateRefresh: c.RotateRefresh, RefreshGrace: int64(c.RefreshGrace / time.Second),
		RequirePKCE: c.RequirePKCE, AllowPlainPKCE: c.AllowPlainPKCE, AccessTokenFormat: c.AccessTokenFormat,
		Dialect: c.Dialect, Audience: c.Audience, CCRefresh: c.ClientCredentialsRefresh, Introspect: c.Introspect,
		IDTokenAlg: cmp.Or(c.IDTokenAlg, defaultIDTokenAlg), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		CreatedAt: stamp(c.CreatedAt)}
}

// printSecret shows a client with its new secret, once.
func (a *admin) printSecret(c storage.Client, secret string, rotated bool) error {
	v := clientOf(c)
	v.Secret = secret
	if err := a.print(true, clientDetail{v}); err != nil || a.json || secret == "" {
		return err
	}
	_, err := fmt.Fprintf(a.out, "\nclient secret: %s\nStore it now: it is shown only once and cannot be recovered.\n", secret)
	if err == nil && rotated {
		_, err = fmt.Fprintf(a.out, "The old secret no longer works (running servers may accept it for up to %s more).\n", shortDuration(oauth.ClientCacheTTL))
	}
	return err
}

func newClientCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage client applications"}
	create := jsonFlag(&cobra.Command{Use: "create", Short: "Register a client; a confidential client's secret is printed once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, choices := clientFromFlags(cmd)
			if err := oauth.CheckClient(c, choices, dialect.ClientDefaults()); err != nil { // before the database is opened
				return withMerchantHint(cmd, err)
			}
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				c, secret, err := a.dir.CreateClient(ctx, c, choices)
				if err != nil {
					return withMerchantHint(cmd, err)
				}
				return a.printSecret(c, secret, false)
			})
		}})
	f := create.Flags()
	f.String("id", "", "client id (default: generated)")
	f.String("name", "", "display name shown on consent pages (required)")
	f.Bool("public", false, "a public client (no secret; PKCE required), e.g. a single-page or mobile app")
	f.StringSlice("grant", nil, "grant type, repeatable or comma-separated: "+grantHelp()+" (required)")
	f.StringSlice("scope", nil, "scope the client may ask for, repeatable or comma-separated")
	f.StringSlice("default-scope", nil, "scope granted when a request names none")
	f.StringArray("redirect-uri", nil, "redirect URI, matched exactly (repeatable; https, or http on localhost, or a native app's reverse-domain scheme)")
	f.Duration("access-ttl", oauth.DefaultAccessTokenTTL, "access token lifetime; 0 = never expires")
	f.Duration("refresh-ttl", oauth.DefaultRefreshTokenTTL, "absolute lifetime of a refresh token family; 0 = no limit")
	f.String("merchant", "", "bind the client to a merchant: its tokens act for it, and it logs in that merchant's guests")
	f.String("organization", "", "bind the client to an organization instead of a merchant: its client_credentials tokens act for it, and with latchkey:admin it administers that organization")
	f.String("account-kind", "guest", "the accounts it logs in: guest or staff")
	f.Bool("skip-consent", false, "first-party app: never show the consent page")
	f.Bool("refresh-rotation", false, "rotate refresh tokens on use (the default, except for the paytronix and aston dialects, whose clients keep theirs)")
	f.Bool("no-refresh-rotation", false, "keep refresh tokens on use instead of rotating them")
	f.Duration("refresh-grace", oauth.DefaultRefreshGrace, "how long a retried refresh gets the same successor; 0 disables")
	f.Bool("require-pkce", false, "require PKCE (always on for public clients)")
	f.Bool("allow-plain-pkce", false, "accept the plain PKCE method as well as S256")
	f.String("token-format", "opaque", "access token format: opaque or jwt")
	f.String("dialect", "", "vendor dialect the client is registered for: "+strings.Join(dialect.Names(), ", "))
	f.String("audience", "", "the aud of the client's JWT access tokens (default: the issuer)")
	f.Bool("client-credentials-refresh", false, "issue a refresh token with client_credentials too (the default for the flexiti dialect, whose clients expect one)")
	f.Bool("introspect", false, "a resource server: may introspect other clients' tokens (with --merchant, only that merchant's); without it a client introspects only its own")
	f.String("id-token-alg", "", "OpenID Connect: algorithm of the client's ID tokens, RS256 or ES256 (default RS256)")
	f.StringArray("post-logout-redirect-uri", nil, "OpenID Connect: where logout may send the browser back to, matched exactly (repeatable; the rules of --redirect-uri)")
	create.MarkFlagsMutuallyExclusive("refresh-rotation", "no-refresh-rotation")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("grant")

	list := listCmd("client", func(ctx context.Context, _ *cobra.Command, a *admin) ([]view, error) {
		cs, err := a.dir.ListClients(ctx)
		return views(cs, func(c storage.Client) view { return clientOf(c) }), err
	})
	show := showCmd("client", func(ctx context.Context, a *admin, id string) (view, error) {
		c, err := a.dir.Client(ctx, id)
		return clientDetail{clientOf(c)}, err
	})
	del := deleteCmd("client", ", with its codes, tokens and consents", func(ctx context.Context, a *admin, id string) error {
		return a.dir.DeleteClient(ctx, id)
	})
	rotate := jsonFlag(&cobra.Command{Use: "rotate-secret ID", Short: "Give a confidential client a new secret; the old one stops working",
		Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				c, secret, err := a.dir.RotateClientSecret(ctx, args[0])
				if err != nil {
					return err
				}
				return a.printSecret(c, secret, true)
			})
		}})
	cmd.AddCommand(create, list, show, del, rotate)
	return cmd
}

// grantHelp lists the grant types as --grant takes them: a URN by its
// short name, as in "device_code (urn:ietf:params:oauth:grant-type:device_code)".
func grantHelp() string {
	names := make([]string, len(oauth.GrantTypes))
	for i, g := range oauth.GrantTypes {
		names[i] = g
		for short, full := range oauth.GrantAliases {
			if full == g {
				names[i] = short + " (" + full + ")"
			}
		}
	}
	return strings.Join(names, ", ")
}

// clientFromFlags builds a client from the create flags. Defaults (the
// id), what --public implies and every check are the directory's.
func clientFromFlags(cmd *cobra.Command) (storage.Client, oauth.ClientChoices) {
	f := cmd.Flags()
	var c storage.Client
	c.ID, _ = f.GetString("id")
	c.Name, _ = f.GetString("name")
	grants, _ := f.GetStringSlice("grant")
	scopes, _ := f.GetStringSlice("scope")
	defaults, _ := f.GetStringSlice("default-scope")
	c.GrantTypes, c.Scopes, c.DefaultScopes = splitSpaces(grants), splitSpaces(scopes), splitSpaces(defaults)
	c.RedirectURIs, _ = f.GetStringArray("redirect-uri")
	c.AccessTokenTTL, _ = f.GetDuration("access-ttl")
	c.RefreshTokenTTL, _ = f.GetDuration("refresh-ttl")
	c.MerchantID, _ = f.GetString("merchant")
	c.OrganizationID, _ = f.GetString("organization")
	kind, _ := f.GetString("account-kind")
	c.AccountKind = storage.AccountKind(kind)
	c.SkipConsent, _ = f.GetBool("skip-consent")
	var o oauth.ClientChoices
	o.Public, _ = f.GetBool("public")
	switch {
	case f.Changed("refresh-rotation"):
		rotate, _ := f.GetBool("refresh-rotation")
		o.RotateRefresh = &rotate
	case f.Changed("no-refresh-rotation"):
		keep, _ := f.GetBool("no-refresh-rotation")
		rotate := !keep
		o.RotateRefresh = &rotate
	}
	if f.Changed("client-credentials-refresh") {
		cc, _ := f.GetBool("client-credentials-refresh")
		o.ClientCredentialsRefresh = &cc
	}
	c.RefreshGrace, _ = f.GetDuration("refresh-grace")
	c.RequirePKCE, _ = f.GetBool("require-pkce")
	c.AllowPlainPKCE, _ = f.GetBool("allow-plain-pkce")
	c.AccessTokenFormat, _ = f.GetString("token-format")
	c.Dialect, _ = f.GetString("dialect")
	c.Audience, _ = f.GetString("audience")
	c.Introspect, _ = f.GetBool("introspect")
	c.IDTokenAlg, _ = f.GetString("id-token-alg")
	c.PostLogoutRedirectURIs, _ = f.GetStringArray("post-logout-redirect-uri")
	return c, o
}

// withMerchantHint adds the flags to use when err is only that a client
// logging in guests (the default --account-kind) has no --merchant.
func withMerchantHint(cmd *cobra.Command, err error) error {
	if !errors.Is(err, oauth.ErrClientNeedsMerchant) || cmd.Flags().Changed("account-kind") {
		return err
	}
	return fmt.Errorf("%w: give --merchant ID, or --account-kind staff", err)
}

// splitSpaces lets scopes be given space-separated too, as OAuth writes them.
func splitSpaces(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.Fields(s)...)
	}
	return out
}
