package oauth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
)

// TestClientRegistration: defaults for what a registration leaves out, and
// each wrong member named, missing ones marked so.
func TestClientRegistration(t *testing.T) {
	secs := func(n int64) *int64 { return &n }
	ok := oauth.ClientRegistration{ClientName: "POS", GrantTypes: []string{"client_credentials"}, Scope: "a  b"}
	c, o, err := ok.Client()
	if err != nil || c.AccessTokenTTL != oauth.DefaultAccessTokenTTL || c.RefreshTokenTTL != oauth.DefaultRefreshTokenTTL ||
		c.RefreshGrace != oauth.DefaultRefreshGrace || c.AccountKind != "guest" || c.AccessTokenFormat != "opaque" ||
		len(c.Scopes) != 2 || o.Public {
		t.Fatalf("defaults: %+v %+v %v", c, o, err)
	}
	ok.AccessTokenTTL, ok.TokenEndpointAuthMethod = secs(0), "none"
	if c, o, err := ok.Client(); err != nil || c.AccessTokenTTL != 0 || !o.Public {
		t.Fatalf("access_token_ttl 0 and a public client: %+v %+v %v", c, o, err)
	}
	for _, tc := range []struct {
		name    string
		edit    func(*oauth.ClientRegistration)
		field   string
		missing bool
	}{
		{"no name", func(r *oauth.ClientRegistration) { r.ClientName = "" }, "client_name", true},
		{"no grants", func(r *oauth.ClientRegistration) { r.GrantTypes = nil }, "grant_types", true},
		{"negative access ttl", func(r *oauth.ClientRegistration) { r.AccessTokenTTL = secs(-1) }, "access_token_ttl", false},
		{"refresh ttl past 100 years", func(r *oauth.ClientRegistration) {
			r.RefreshTokenTTL = secs(300 * 365 * 24 * 3600)
		}, "refresh_token_ttl", false},
		{"unknown auth method", func(r *oauth.ClientRegistration) { r.TokenEndpointAuthMethod = "private_key_jwt" }, "token_endpoint_auth_method", false},
	} {
		r := oauth.ClientRegistration{ClientName: "POS", GrantTypes: []string{"client_credentials"}}
		tc.edit(&r)
		_, _, err := r.Client()
		var fe *oauth.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Missing != tc.missing {
			t.Errorf("%s: %v; want a FieldError on %s (missing %v)", tc.name, err, tc.field, tc.missing)
		}
	}
}

// TestTTLSeconds: lifetimes run 0 to 100 years, bounds included; past them
// the member is named (the admin API's PATCH reads lifetimes through it too).
func TestTTLSeconds(t *testing.T) {
	const century = 100 * 365 * 24 * 3600
	for _, secs := range []int64{0, 1, century} {
		if d, err := oauth.TTLSeconds("access_token_ttl", secs); err != nil || d != time.Duration(secs)*time.Second {
			t.Errorf("%d s: %v, %v", secs, d, err)
		}
	}
	for _, secs := range []int64{-1, century + 1, 1 << 62} {
		var fe *oauth.FieldError
		if _, err := oauth.TTLSeconds("refresh_token_ttl", secs); !errors.As(err, &fe) || fe.Field != "refresh_token_ttl" || fe.Missing {
			t.Errorf("%d s: %v; want a FieldError on refresh_token_ttl", secs, err)
		}
	}
}
