// Package backend opens the storage backend a --db setting names.
package backend

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// Options tune Open.
type Options = sqlstore.Options

// Open connects to a database (driver "sqlite" with a file path as source,
// or "postgres" with a URL), checks it answers, and applies migrations when
// opts.Migrate is set (otherwise it refuses an out-of-date schema).
func Open(ctx context.Context, driver, source string, opts Options) (storage.Storage, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch driver {
	case "sqlite":
		return sqlite.Open(ctx, source, opts)
	case "postgres":
		return postgres.Open(ctx, source, opts)
	default:
		return nil, fmt.Errorf("unknown database driver %q", driver)
	}
}
