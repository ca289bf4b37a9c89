// Package dialect serves the vendor token services latchkey replaces, and
// is the one registry of them: each dialect's name, endpoints, error shape
// and authorization pages are declared here, once, and everything else
// (server wiring, config validation, client registration, the gateway's
// rule files) reads them from here. Each dialect's sub-package only decodes
// its wire format into the OAuth core's requests and encodes the core's
// results and errors in its shapes; every protocol decision stays in the core.
package dialect

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/dialect/aston"
	"github.com/latchkey-dev/latchkey/internal/dialect/flexiti"
	"github.com/latchkey-dev/latchkey/internal/dialect/paytronix"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/web"
)

// ErrorWriter writes a core error in a dialect's shape.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, e *oauth.Error)

// Dialect is one vendor token service.
type Dialect struct {
	// Name is how configs, client registrations and rule files name it.
	Name string
	// Routes adds the dialect's own endpoints (token endpoints and the like).
	Routes func(mux oauth.Mux, core *oauth.Server)
	// Pages are its authorization pages by path, each with what it changes in the flow.
	Pages map[string]oauth.AuthorizeProfile
	// WriteError encodes errors of its endpoints and of gateways in front of its APIs.
	WriteError ErrorWriter
	// Clients are the settings its clients get unless registered otherwise.
	Clients oauth.ClientDefaults
}

// The names of the dialects, for code that registers clients for one (the demo data).
const (
	Paytronix = "paytronix"
	Flexiti   = "flexiti"
	Aston     = "aston"
)

// Standard is the name of the standard error shape (RFC 6749 §5.2 and RFC
// 6750 §3) for gateway rule files; it is not a dialect a server serves.
const Standard = "rfc6750"

// registry lists every dialect; nothing else spells their names.
var registry = []Dialect{
	// Seed 000 echoes the refresh token on refresh and tells integrators to
	// keep refreshing with the first login's one; its clients are
	// confidential, so RFC 9700 §4.14.2 allows keeping it.
	{Name: Paytronix, Routes: paytronix.Routes, WriteError: paytronix.WriteError,
		Pages:   map[string]oauth.AuthorizeProfile{paytronix.LoginPath: paytronix.LoginProfile},
		Clients: oauth.ClientDefaults{KeepRefreshTokens: true}},
	// Seed 002 returns a refresh token for client_credentials too.
	{Name: Flexiti, Routes: flexiti.Routes, WriteError: flexiti.WriteError,
		Clients: oauth.ClientDefaults{ClientCredentialsRefresh: true}},
	// Seed 003's refresh response carries no new refresh token.
	{Name: Aston, Routes: aston.Routes, WriteError: writeStandard, Pages: aston.Pages,
		Clients: oauth.ClientDefaults{KeepRefreshTokens: true}},
}

// Names lists the dialects latchkey knows, in registry order.
func Names() []string {
	out := make([]string, len(registry))
	for i, d := range registry {
		out[i] = d.Name
	}
	return out
}

// ClientDefaults maps each dialect's name to the defaults of its clients,
// for the Directory that registers clients.
func ClientDefaults() map[string]oauth.ClientDefaults {
	out := make(map[string]oauth.ClientDefaults, len(registry))
	for _, d := range registry {
		out[d.Name] = d.Clients
	}
	return out
}

// Lookup finds a dialect by name.
func Lookup(name string) (Dialect, bool) {
	i := slices.IndexFunc(registry, func(d Dialect) bool { return d.Name == name })
	if i < 0 {
		return Dialect{}, false
	}
	return registry[i], true
}

// Check returns an error naming the known dialects unless name is one.
func Check(name string) error {
	if _, ok := Lookup(name); !ok {
		return fmt.Errorf("dialect %q is unknown (known: %s)", name, strings.Join(Names(), ", "))
	}
	return nil
}

// ErrorShape returns the error writer a gateway rule file names: a
// dialect's, or the standard one for Standard or "".
func ErrorShape(name string) (ErrorWriter, error) {
	if name == "" || name == Standard {
		return writeStandard, nil
	}
	d, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("dialect %q must be %s or one of %s", name, Standard, strings.Join(Names(), ", "))
	}
	return d.WriteError, nil
}

func writeStandard(w http.ResponseWriter, _ *http.Request, e *oauth.Error) { oauth.WriteError(w, e) }

// Shapes maps the pattern of each dialect endpoint ("POST /v1/token") to
// its dialect's error writer, so that what the server refuses before any
// handler runs (a wrong method, an undecodable body) is answered in the
// dialect's shape too.
type Shapes map[string]ErrorWriter

// Register adds the routes and authorization pages of the named dialects
// to mux, and returns the error shape of each route it added.
func Register(mux *http.ServeMux, names []string, core *oauth.Server, pages *web.Handler) (Shapes, error) {
	shapes := Shapes{}
	for _, n := range names {
		d, ok := Lookup(n)
		if !ok {
			return nil, Check(n)
		}
		d.Routes(noting{mux, shapes, d.WriteError}, core)
		for path, profile := range d.Pages {
			h := pages.AuthorizePage(path, profile)
			mux.HandleFunc("GET "+path, h)
			mux.HandleFunc("POST "+path, h)
		}
	}
	return shapes, nil
}

// noting registers routes on a mux and notes each one's error shape.
type noting struct {
	mux    *http.ServeMux
	shapes Shapes
	shape  ErrorWriter
}

func (n noting) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	n.mux.HandleFunc(pattern, h)
	n.shapes[pattern] = n.shape
}
