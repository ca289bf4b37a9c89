package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/conformance"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) storage.Storage {
		s, err := postgres.Open(context.Background(), pgtest.DSN(t), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		return s
	})
}

func TestReopen(t *testing.T) {
	conformance.RunReopen(t, func(t *testing.T) (func(int) storage.Storage, *sql.DB) {
		dsn := pgtest.DSN(t)
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return func(version int) storage.Storage {
			s, err := postgres.Open(context.Background(), dsn, sqlstore.Options{Migrate: true, MigrateTo: version, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("open postgres at schema version %d: %v", version, err)
			}
			return s
		}, raw
	})
}

func TestLegacyClientOptions(t *testing.T) {
	conformance.RunLegacyClientOptions(t, func(t *testing.T) (func(int) (storage.Storage, error), *sql.DB) {
		dsn := pgtest.DSN(t)
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return func(version int) (storage.Storage, error) {
			return postgres.Open(context.Background(), dsn, sqlstore.Options{Migrate: true, MigrateTo: version, Logger: slog.New(slog.DiscardHandler)})
		}, raw
	})
}
