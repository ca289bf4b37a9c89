// Package backend opens the storage backend a --db setting names.
package backend

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// Options tune Open.
type Options = sqlstore.Options

// Open connects to the database db names, checks it answers, and applies
// migrations when opts.Migrate is set (otherwise it refuses an out-of-date schema).
func Open(ctx context.Context, db config.DB, opts Options) (storage.Storage, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch db.Driver {
	case "sqlite":
		return sqlite.Open(ctx, db.Path, opts)
	case "postgres":
		return postgres.Open(ctx, db.URL, opts)
	default:
		return nil, fmt.Errorf("unknown database driver %q", db.Driver)
	}
}
