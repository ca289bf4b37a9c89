// Package sqlite is latchkey's embedded storage backend: one SQLite file in
// WAL mode, written by a single connection through the group committer and
// read by a pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// Open opens (creating if needed) the SQLite database at path.
func Open(ctx context.Context, path string, opts sqlstore.Options) (*sqlstore.Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("sqlite database %s: directory %s does not exist", path, dir)
		}
	}
	// synchronous=FULL syncs the WAL on every commit, so an answered token
	// survives power loss too; group commit keeps that to one sync per batch.
	pragmas := url.Values{"_pragma": {
		"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)",
		// Statement journals (a multi-row INSERT's undo) in memory, not in a
		// temporary file written with a system call per page.
		"temp_store(MEMORY)",
	}}
	write, err := sql.Open("sqlite", path+"?"+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	// One group-commit worker writes, one transaction at a time; the second
	// connection lets a statement be prepared while that transaction runs.
	write.SetMaxOpenConns(2)
	write.SetMaxIdleConns(2)
	write.SetConnMaxLifetime(0)
	pragmas["_pragma"] = append(pragmas["_pragma"], "query_only(1)")
	read, err := sql.Open("sqlite", path+"?"+pragmas.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	st, err := sqlstore.Open(ctx, flavor{}, sqlstore.Pools{Read: read, Write: write}, opts)
	if err != nil {
		return nil, fmt.Errorf("sqlite database %s: %w", path, err)
	}
	return st, nil
}

type flavor struct{}

func (flavor) Embedded() bool { return true } // in process

func (flavor) Name() string { return "sqlite" }

func (flavor) Writers() int { return 1 }

func (flavor) Rebind(query string) string { return sqlstore.AnonymousPlaceholders(query) }

// Replan: SQLite plans each statement once, on its indexes, not on the
// table's size, so a plan never goes stale as a table grows.
func (flavor) Replan() any { return nil }

func (flavor) Classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return storage.ErrAlreadyExists
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return storage.ErrInUse
	}
	return nil
}

func (flavor) Retryable(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// Refused: an error SQLite returned. Only the combined statements of a
// planned pool ask, and SQLite has none (sqlstore.Pools.Planned).
func (flavor) Refused(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se)
}

// LockMigrations needs nothing: the write transaction is BEGIN IMMEDIATE,
// which already excludes every other writer of the file.
func (flavor) LockMigrations(context.Context, *sql.Tx) error { return nil }
