package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered files NNNN_name.sql, applied in order, forward
// only, each once; both backends run the same files.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries { // ReadDir returns names sorted
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: expected number %04d", e.Name(), len(ms)+1)
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	return ms, nil
}

// SchemaVersion is the schema version this build needs.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

// migrate applies pending migrations up to version to (0: all) when apply
// is set, or checks that none are pending.
func (s *Store) migrate(ctx context.Context, apply bool, to int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if apply && to > 0 && to < len(ms) {
		ms = ms[:to]
	}
	if !apply {
		var v sql.NullInt64
		if err := s.write.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
			return fmt.Errorf("read schema version (run 'latchkey migrate' if this database is new): %w", err)
		}
		return checkVersion(int(v.Int64), len(ms))
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if err := s.flavor.LockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("lock for migration: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	current := int(v.Int64)
	if current > len(ms) {
		return checkVersion(current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
		s.log.Info("applied schema migration", "version", m.version, "name", m.name, "db", s.flavor.Name())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	return nil
}

// checkVersion says what to do when the schema is not the one this build needs.
func checkVersion(current, want int) error {
	switch {
	case current > want:
		return fmt.Errorf("database schema is at version %d, newer than this latchkey (%d): upgrade latchkey", current, want)
	case current < want:
		return fmt.Errorf("database schema is at version %d, this latchkey needs %d: run 'latchkey migrate'", current, want)
	}
	return nil
}
