package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
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
	// after, when set, runs in the same transaction after sql: a data
	// conversion that needs more than SQL can portably say.
	after func(ctx context.Context, tx *sql.Tx) error
}

// afterSQL are the Go steps of migrations, by version.
var afterSQL = map[int]func(ctx context.Context, tx *sql.Tx) error{
	5: typeClientOptions,
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
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body), after: afterSQL[v]})
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
		if m.after != nil {
			if err := m.after(ctx, tx); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
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

// typeClientOptions rewrites each client's free-form options (string
// values: "audience", "client_credentials_refresh"="true") as typed ones.
// An option latchkey never knew was a silent no-op before; now it stops
// the migration, naming the client and the option, so nobody keeps
// believing it has an effect.
func typeClientOptions(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, dialect_options FROM clients ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read client options: %w", err)
	}
	type row struct{ id, opts string }
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.opts); err != nil {
			rows.Close()
			return fmt.Errorf("read client options: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read client options: %w", err)
	}
	for _, r := range all {
		o, err := legacyOptions(r.opts)
		if err != nil {
			return fmt.Errorf("client %q: %w", r.id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clients SET dialect_options = $2 WHERE id = $1`, r.id, jsonText(o)); err != nil {
			return fmt.Errorf("client %q: store typed options: %w", r.id, err)
		}
	}
	return nil
}

// legacyOptions converts the key=value options of schema version 4.
func legacyOptions(raw string) (clientOptions, error) {
	var m map[string]string
	var o clientOptions
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return o, fmt.Errorf("options %q are not a JSON object of strings: %w", raw, err)
	}
	for k, v := range m {
		switch k {
		case "audience":
			o.Audience = v
		case "client_credentials_refresh":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, fmt.Errorf("option client_credentials_refresh=%q must be true or false", v)
			}
			o.ClientCredentialsRefresh = b
		default:
			return o, fmt.Errorf("option %q is not known (known: audience, client_credentials_refresh); "+
				"remove it from clients.dialect_options and run 'latchkey migrate' again", k)
		}
	}
	return o, nil
}
