package conformance

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// RawOpener picks a fresh, empty database and returns a function that opens
// it as a store migrated up to schema version (0: the latest), and a plain
// connection to it for writing what an older release wrote.
type RawOpener func(t *testing.T) (open func(version int) (storage.Storage, error), raw *sql.DB)

// RunLegacyClientOptions checks the upgrade to typed client options (schema
// version 5): options older releases stored as strings come back typed,
// and an option latchkey does not know stops the migration, named.
func RunLegacyClientOptions(t *testing.T, open RawOpener) {
	legacy := func(t *testing.T, opts string) (func(int) (storage.Storage, error), *sql.DB) {
		reopen, raw := open(t)
		old, err := reopen(4)
		must(t, err, "open at schema version 4")
		setupOld(t, old, raw)
		must(t, old.Close(), "close the old store")
		_, err = raw.ExecContext(ctx(t), `UPDATE clients SET dialect_options = $1 WHERE id = 'app'`, opts)
		must(t, err, "write version 4 options")
		return reopen, raw
	}
	t.Run("KnownOptionsBecomeTyped", func(t *testing.T) {
		reopen, _ := legacy(t, `{"audience":"https://api.example","client_credentials_refresh":"true"}`)
		s, err := reopen(0)
		must(t, err, "upgrade")
		defer s.Close()
		c, err := s.GetClient(ctx(t), "app")
		must(t, err, "get client after the upgrade")
		equal(t, c.Audience, "https://api.example", "audience after the upgrade")
		equal(t, c.ClientCredentialsRefresh, true, "client_credentials refresh after the upgrade")
	})
	t.Run("UnknownOptionStopsTheUpgrade", func(t *testing.T) {
		reopen, raw := legacy(t, `{"environment":"sandbox"}`)
		s, err := reopen(0)
		if err == nil {
			s.Close()
			t.Fatal("the upgrade accepted an unknown client option")
		}
		for _, want := range []string{`client "app"`, `"environment"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("upgrade error %q does not name %s", err, want)
			}
		}
		var v int
		must(t, raw.QueryRowContext(ctx(t), `SELECT MAX(version) FROM schema_migrations`).Scan(&v), "read schema version")
		equal(t, v, 4, "schema version after the refused upgrade")
	})
}
