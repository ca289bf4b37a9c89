package oauth

import (
	"slices"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// ResolveScopes turns a requested scope string into the scopes granted: each
// must be one the client may ask for; none asked means the client's defaults.
func ResolveScopes(c storage.Client, requested string) ([]string, *Error) {
	if strings.TrimSpace(requested) == "" {
		return slices.Clone(c.DefaultScopes), nil
	}
	scopes, oerr := parseScopes(requested)
	if oerr != nil {
		return nil, oerr
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			return nil, InvalidScope("scope %q is not allowed for this client", clip(sc)).For("scope")
		}
	}
	return scopes, nil
}

// parseScopes splits a scope parameter (RFC 6749 §3.3), dropping duplicates.
func parseScopes(s string) ([]string, *Error) {
	var out []string
	for _, sc := range strings.Split(s, " ") {
		if sc == "" {
			continue
		}
		for _, r := range sc {
			if r < 0x21 || r == 0x22 || r == 0x5c || r > 0x7e {
				return nil, InvalidScope("scope %q has a character scopes may not contain", clip(sc)).For("scope")
			}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}
