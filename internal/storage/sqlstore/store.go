// Package sqlstore implements storage.Storage on SQL databases. The SQLite
// and PostgreSQL backends share this code and its schema; each supplies a
// Flavor with what differs (connections, error codes, locking).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Options tune how a store is opened.
type Options struct {
	// Logger receives the store's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Migrate applies pending schema migrations; without it an out-of-date schema is refused.
	Migrate bool
	// MigrateTo stops Migrate at this schema version (0: the latest), so tests
	// can build a database as an older release left it and then upgrade it.
	MigrateTo int
	// OnCommit, when set, is told of every group-commit transaction: how
	// many writes it held, how long it took and whether it failed (metrics).
	OnCommit func(writes int, d time.Duration, err error)
	// SecretFingerprint, when set, is recorded on first use and checked on every
	// open, so a node started with the wrong system secret fails at once instead
	// of rejecting every client secret.
	SecretFingerprint string
}

// Flavor is what one SQL database needs beyond the shared code.
type Flavor interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Classify maps a driver error onto storage.ErrAlreadyExists or
	// storage.ErrInUse, or returns nil when it is neither.
	Classify(err error) error
	// Retryable reports whether a transaction failed only because it
	// collided with another one (deadlock, serialization failure, busy) and
	// can simply run again.
	Retryable(err error) bool
	// LockMigrations serialises migrations across processes inside tx.
	LockMigrations(ctx context.Context, tx *sql.Tx) error
	// Writers is how many transactions the group committer runs at once.
	Writers() int
	// Embedded reports whether the database runs inside this process, so a
	// statement never waits on a network. The store then runs statements
	// under a context that cannot be cancelled: a cancellable one costs a
	// goroutine per statement in database/sql and another in the driver,
	// more than a point lookup itself.
	Embedded() bool
	// Rebind rewrites a query written with $n placeholders into the form the
	// driver binds fastest; it must mean the same.
	Rebind(query string) string
}

// Store is a storage.Storage on a SQL database.
type Store struct {
	flavor Flavor
	read   *sql.DB // queries outside transactions
	reader *pool   // read, with prepared statements
	write  *sql.DB // the committer's connections
	commit *committer
	log    *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

var _ storage.Storage = (*Store)(nil)

// Open wraps open connection pools in a Store: it checks the database
// answers, migrates or checks the schema, and checks the secret fingerprint.
// read and write may be the same pool. On error the pools are closed.
func Open(ctx context.Context, f Flavor, read, write *sql.DB, opts Options) (*Store, error) {
	s := &Store{flavor: f, read: read, reader: newPool(read, f), write: write, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	fail := func(err error) (*Store, error) {
		s.closeDBs()
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := write.PingContext(pctx); err != nil {
		return fail(fmt.Errorf("connect to %s database: %w", f.Name(), err))
	}
	if err := s.migrate(ctx, opts.Migrate, opts.MigrateTo); err != nil {
		return fail(err)
	}
	s.commit = newCommitter(write, f, opts.OnCommit, s.log)
	if opts.SecretFingerprint != "" {
		if err := s.checkFingerprint(ctx, opts.SecretFingerprint); err != nil {
			s.commit.close()
			return fail(err)
		}
	}
	return s, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", s.flavor.Name(), err)
	}
	return nil
}

// Close waits for queued writes to commit, then closes the database. Later
// calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.commit.close()
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	s.reader.stmts.close()
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// exec runs fn as one write, grouped with concurrent writes into a shared
// transaction, and returns once that transaction committed.
func (s *Store) exec(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return s.commit.do(ctx, fn)
}

// wrap classifies a driver error and adds context; storage errors pass as they are.
func (s *Store) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if c := s.flavor.Classify(err); c != nil {
		err = c
	} else if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

const fingerprintKey = "secret_fingerprint"

func (s *Store) checkFingerprint(ctx context.Context, fp string) error {
	var stored string
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, fingerprintKey).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			stored = fp
			_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)`, fingerprintKey, fp)
		}
		return err
	})
	if err != nil {
		return s.wrap(err, "check system secret fingerprint")
	}
	if stored != fp {
		return fmt.Errorf("this database was set up with a different system secret (fingerprint %s, this process has %s): start latchkey with the original secret (LATCHKEY_SECRET or --secret-file)", stored, fp)
	}
	return nil
}
