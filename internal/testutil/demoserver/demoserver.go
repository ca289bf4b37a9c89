// Package demoserver starts a real latchkey with the demo data for tests:
// a fresh SQLite file (or a PostgreSQL database), the demo rows, and the full
// HTTP server on a loopback port.
package demoserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/server"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// Site is a running latchkey.
type Site struct {
	URL   string // base URL, also the issuer
	Store storage.Storage
	Keys  *secrets.Keys
}

// Options tune Start.
type Options struct {
	Dialects []string         // dialects to serve
	Product  string           // product name on the pages
	Now      func() time.Time // the server's clock; time.Now when nil
	// DSN, a postgres:// URL, is the database to use instead of a fresh
	// SQLite file; the demo rows are added to what it holds.
	DSN string
	// Logger receives the server's and the store's logs; discarded when nil.
	Logger *slog.Logger
}

// Start serves latchkey with the demo data until the test ends.
func Start(t testing.TB, o Options) *Site {
	t.Helper()
	ctx := context.Background()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var st *sqlstore.Store
	var err error
	if o.DSN != "" {
		st, err = postgres.Open(ctx, o.DSN, sqlstore.Options{Migrate: true, Logger: log})
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: log})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := secrets.NewKeys([]byte(strings.Repeat("d", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	srv, err := server.New(server.Options{Store: st, Keys: keys, Issuer: ts.URL, Logger: log, Dialects: o.Dialects, Product: o.Product,
		OAuth: oauth.Config{Now: o.Now}})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", srv)
	return &Site{URL: ts.URL, Store: st, Keys: keys}
}
