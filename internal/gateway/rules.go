package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/internal/dialect"
)

// Rules is a gateway rule file.
type Rules struct {
	// Dialect picks the error shape: rfc6750 (the default) or a dialect's name.
	Dialect string `yaml:"dialect"`
	// Upstream is the API the gateway forwards to; --upstream overrides it.
	Upstream string `yaml:"upstream"`
	// Introspection, when set, checks tokens through latchkey's endpoint
	// instead of its database.
	Introspection *Introspection `yaml:"introspection"`
	// JWT, when set, verifies JWT access tokens locally against latchkey's
	// JWKS; other tokens still go to introspection or the database.
	JWT    *JWT    `yaml:"jwt"`
	Routes []Route `yaml:"routes"`
}

// JWT is how a gateway verifies JWT access tokens locally.
type JWT struct {
	Issuer   string `yaml:"issuer"`
	JWKSURL  string `yaml:"jwks_url"` // issuer + /.well-known/jwks.json when empty
	Audience string `yaml:"audience"` // checked when set
}

// Introspection is how a gateway that does not share latchkey's database checks tokens.
type Introspection struct {
	URL          string `yaml:"url"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
}

// Route is one rule: requests matching Match need a token that satisfies Scopes and Bind.
type Route struct {
	// Match is a Go ServeMux pattern: "[METHOD ]/path/{param}/…"; a trailing slash matches the subtree.
	Match string `yaml:"match"`
	// Public routes need no token (identity headers are still stripped).
	Public bool `yaml:"public"`
	// Scopes: the token needs at least one of Any and all of All.
	Scopes ScopeRule `yaml:"scopes"`
	// Bind requires path parameters to equal token fields: client, merchant, organization or subject.
	Bind map[string]string `yaml:"bind"`
}

// ScopeRule is a route's scope requirement.
type ScopeRule struct {
	Any []string `yaml:"any"`
	All []string `yaml:"all"`
}

var bindFields = []string{"client", "merchant", "organization", "subject"}

// LoadRules reads and checks a rule file.
func LoadRules(path string) (Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, fmt.Errorf("read gateway rules: %w", err)
	}
	return ParseRules(data, path)
}

// ParseRules parses and checks rules; name is used in errors.
func ParseRules(data []byte, name string) (Rules, error) {
	var r Rules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return Rules{}, fmt.Errorf("gateway rules %s: %s", name, strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "yaml: ")), " "))
	}
	if err := r.check(); err != nil {
		return Rules{}, fmt.Errorf("gateway rules %s: %w", name, err)
	}
	return r, nil
}

func (r Rules) check() error {
	if _, err := dialect.ErrorShape(r.Dialect); err != nil {
		return err
	}
	if r.Upstream != "" {
		if u, err := url.Parse(r.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("upstream %q must be an http or https URL", r.Upstream)
		}
	}
	if in := r.Introspection; in != nil && (in.URL == "" || in.ClientID == "") {
		return fmt.Errorf("introspection needs url and client_id")
	}
	if r.JWT != nil && r.JWT.Issuer == "" {
		return fmt.Errorf("jwt needs the issuer")
	}
	if len(r.Routes) == 0 {
		return fmt.Errorf("no routes: every request would be denied")
	}
	for i, rt := range r.Routes {
		if rt.Match == "" {
			return fmt.Errorf("route %d has no match pattern", i+1)
		}
		for param, field := range rt.Bind {
			if !slices.Contains(bindFields, field) {
				return fmt.Errorf("route %q binds {%s} to %q: use client, merchant, organization or subject", rt.Match, param, field)
			}
			if !strings.Contains(rt.Match, "{"+param+"}") {
				return fmt.Errorf("route %q binds {%s}, which its pattern does not have", rt.Match, param)
			}
		}
		if rt.Public && (len(rt.Scopes.Any) > 0 || len(rt.Scopes.All) > 0 || len(rt.Bind) > 0) {
			return fmt.Errorf("route %q is public but has scopes or bindings", rt.Match)
		}
	}
	return nil
}
