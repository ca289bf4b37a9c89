// Package sqlstore implements storage.Storage on SQL databases. The SQLite
// and PostgreSQL backends share this code and its schema; each supplies a
// Flavor with what differs (connections, error codes, locking).
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/tracing"
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
	// TracerProvider, when set (docs/TRACING.md), records a span
	// "storage.commit" for every group-commit transaction.
	TracerProvider trace.TracerProvider
	// SecretFingerprint, when set, is recorded on first use and checked on every
	// open, so a node started with the wrong system secret fails at once instead
	// of rejecting every client secret.
	SecretFingerprint string
	// CallTimeout bounds each call on a networked database (0: CallTimeout).
	// Tests under the race detector on a loaded machine raise it where the
	// bound is not what they test.
	CallTimeout time.Duration
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
	// more than a point lookup itself. A networked database's calls run
	// under deadlines instead (CallTimeout).
	Embedded() bool
	// Rebind rewrites a query written with $n placeholders into the form the
	// driver binds fastest; it must mean the same.
	Rebind(query string) string
	// Refused reports whether err is the database's own refusal of a
	// statement, which then changed nothing: not a lost connection or a
	// passed deadline, after which a statement may have committed unseen.
	Refused(err error) bool
	// Replan is an argument that, put first, makes the driver run a
	// statement unprepared, planned for the values it is given, or nil
	// when there is no such thing (see runUpdates).
	Replan() any
}

// Pools are the connection pools of a Store.
type Pools struct {
	Read  *sql.DB // queries outside transactions
	Write *sql.DB // the group committer's transactions; may be Read
	// Planned, when set, runs the statements whose plans latchkey chooses
	// the shape of: the coalesced reads (lookups.go) instead of Read, and
	// the group commit's combined statements (combinedStatement) instead of
	// Write. On PostgreSQL, its sessions plan each statement once, without
	// sequential scans (see the postgres package).
	Planned *sql.DB
}

// Store is a storage.Storage on a SQL database.
type Store struct {
	flavor    Flavor
	read      *sql.DB // queries outside transactions
	reader    *pool   // read, with prepared statements
	write     *sql.DB // the committer's connections
	planned   *pool   // Pools.Planned, with prepared statements; nil when there is none
	commit    *committer
	coalesced *readers   // coalesced reads by id
	deadlines *deadlines // nil on an embedded database (see Flavor.Embedded)
	log       *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

var _ storage.Storage = (*Store)(nil)

// Open wraps open connection pools in a Store: it checks the database
// answers, migrates or checks the schema, and checks the secret fingerprint.
// On error the pools are closed.
func Open(ctx context.Context, f Flavor, p Pools, opts Options) (*Store, error) {
	read, write := p.Read, p.Write
	s := &Store{flavor: f, read: read, write: write, log: opts.Logger}
	if !f.Embedded() {
		s.deadlines = &deadlines{timeout: cmp.Or(opts.CallTimeout, CallTimeout)}
	}
	s.reader = newPool(read, f, s.deadlines)
	if p.Planned != nil {
		s.planned = newPool(p.Planned, f, s.deadlines)
	}
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
	s.commit = newCommitter(write, f, s.deadlines, opts.OnCommit, tracing.Tracer(opts.TracerProvider, "internal/storage/sqlstore"), s.log)
	s.commit.planned = s.planned
	if opts.SecretFingerprint != "" {
		if err := s.checkFingerprint(ctx, opts.SecretFingerprint); err != nil {
			s.commit.close()
			return fail(err)
		}
	}
	s.coalesced = newReaders(f, cmp.Or(s.planned, s.reader), s.deadlines)
	return s, nil
}

// Ping reports whether the database answers, within CallTimeout on a
// networked database, or sooner if ctx says so.
func (s *Store) Ping(ctx context.Context) error {
	if s.deadlines != nil {
		ctx = s.deadlines.bound(ctx)
	}
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
		s.coalesced.close()
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	s.reader.stmts.close()
	if s.deadlines != nil {
		s.deadlines.close()
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if s.planned != nil {
		s.planned.stmts.close()
		err = errors.Join(err, s.planned.DB.Close())
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

// CallTimeout bounds every storage call on a networked database: a read, and
// a write from the moment it is queued until its transaction has committed or
// failed. A refused, failing or hung database then costs a request at most
// this much before it is answered 503 (docs/RELIABILITY.md promises 2 s), far inside
// the HTTP write timeout (30 s) that would otherwise cut the answer off. The
// call that meets a hung database is the request's last, so one budget is
// what a request waits. A healthy call takes milliseconds: a whole token
// request at c=64 on PostgreSQL has a p99 of 10–36 ms (PERFORMANCE.md), so
// 1 s is about 30 times that before a slow database is taken for a hung one.
const CallTimeout = time.Second

// deadlineTick is how long calls share one deadline: a call's deadline is
// CallTimeout from the start of its tick, so between CallTimeout-deadlineTick
// and CallTimeout from the call.
const deadlineTick = 100 * time.Millisecond

// deadlines hands out the contexts that bound calls on a networked database.
// The calls that start within one tick share one deadline context, so a
// bound costs no timer and no cancel function per call (a *sql.Row or
// *sql.Rows, which the callers hold, gives no place to call one).
type deadlines struct {
	timeout time.Duration // CallTimeout unless Options say otherwise
	mu      sync.Mutex    // taken only to start a new tick
	cur     atomic.Pointer[window]
}

// window is the deadline of the calls that start within one tick.
type window struct {
	until  time.Time       // calls starting before this share the window
	ctx    context.Context // ends at the deadline
	cancel context.CancelFunc
}

// current returns the window of calls starting now.
func (d *deadlines) current() *window {
	now := time.Now()
	if w := d.cur.Load(); w != nil && now.Before(w.until) {
		return w
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if w := d.cur.Load(); w != nil && now.Before(w.until) {
		return w
	}
	w := &window{until: now.Add(deadlineTick)}
	w.ctx, w.cancel = context.WithDeadline(context.Background(), now.Add(d.timeout))
	d.cur.Store(w)
	return w
}

// close releases the current window's timer; the earlier ones have fired.
func (d *deadlines) close() {
	if w := d.cur.Load(); w != nil {
		w.cancel()
	}
}

// bound returns a context with ctx's values and the current window's
// deadline, or ctx itself when its own deadline comes first. The call stops
// following ctx's cancellation: it is bounded anyway, and following both
// would cost a goroutine or a cancel function per call.
func (d *deadlines) bound(ctx context.Context) context.Context { return boundTo(ctx, d.current()) }

// boundTo is bound under window w.
func boundTo(ctx context.Context, w *window) context.Context {
	if dl, ok := ctx.Deadline(); ok {
		if wdl, _ := w.ctx.Deadline(); !dl.After(wdl) {
			return ctx
		}
	}
	return &bounded{values: ctx, w: w.ctx}
}

// bounded is a caller's values under a window's deadline.
type bounded struct {
	values context.Context
	w      context.Context // the window's
}

func (b *bounded) Deadline() (time.Time, bool) { return b.w.Deadline() }
func (b *bounded) Done() <-chan struct{}       { return b.w.Done() }
func (b *bounded) Err() error                  { return b.w.Err() }

// Value asks the window first: it holds no values of its own, but it answers
// the context package's internal lookup of the cancellable parent, so the
// contexts database/sql and pgx derive from this one join the window's
// instead of each starting a goroutine to watch a foreign Done channel.
func (b *bounded) Value(key any) any {
	if v := b.w.Value(key); v != nil {
		return v
	}
	return b.values.Value(key)
}
