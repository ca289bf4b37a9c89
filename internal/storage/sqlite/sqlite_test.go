package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/conformance"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) storage.Storage {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		return s
	})
}

func TestReopen(t *testing.T) {
	conformance.RunReopen(t, func(t *testing.T) (func(int) storage.Storage, *sql.DB) {
		path := filepath.Join(t.TempDir(), "lk.db")
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return func(version int) storage.Storage {
			s, err := sqlite.Open(context.Background(), path, sqlstore.Options{Migrate: true, MigrateTo: version, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("open sqlite at schema version %d: %v", version, err)
			}
			return s
		}, raw
	})
}

func TestLegacyClientOptions(t *testing.T) {
	conformance.RunLegacyClientOptions(t, func(t *testing.T) (func(int) (storage.Storage, error), *sql.DB) {
		path := filepath.Join(t.TempDir(), "lk.db")
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return func(version int) (storage.Storage, error) {
			return sqlite.Open(context.Background(), path, sqlstore.Options{Migrate: true, MigrateTo: version, Logger: slog.New(slog.DiscardHandler)})
		}, raw
	})
}
