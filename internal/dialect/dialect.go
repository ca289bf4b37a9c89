// Package dialect serves the vendor token services latchkey replaces. Each
// dialect (one sub-package each) only decodes its wire format into the OAuth
// core's requests and encodes the core's results and errors in its shapes;
// every protocol decision stays in the core.
package dialect

import (
	"fmt"
	"net/http"

	"github.com/latchkey-dev/latchkey/internal/dialect/aston"
	"github.com/latchkey-dev/latchkey/internal/dialect/flexiti"
	"github.com/latchkey-dev/latchkey/internal/dialect/paytronix"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/web"
)

// Names lists the dialects latchkey knows.
var Names = []string{"paytronix", "flexiti", "aston"}

// Register adds the routes of the named dialects to mux.
func Register(mux *http.ServeMux, names []string, core *oauth.Server, pages *web.Handler) error {
	for _, n := range names {
		switch n {
		case "paytronix":
			paytronix.Routes(mux, core, pages)
		case "flexiti":
			flexiti.Routes(mux, core)
		case "aston":
			aston.Routes(mux, core, pages)
		default:
			return fmt.Errorf("dialect %q is unknown (known: paytronix, flexiti, aston)", n)
		}
	}
	return nil
}
