// Package postgres is latchkey's PostgreSQL storage backend, through pgx and
// database/sql's connection pool. Several group-commit workers write at once,
// so many nodes can share one database.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// writers is how many group-commit workers there are: two, which take
// turns (sqlstore's handoff), so batches are as large as one writer's, and
// one batch stuck on a lock or a stalled connection is passed by the other
// within 25 ms. Side by side, four writers measured 0.88–0.91× the
// throughput of two for client_credentials, refresh and code grants, and
// two side by side 0.87–0.95× of two in turns (paired runs at c=64).
const writers = 2

// Open connects to the PostgreSQL database at dsn (a postgres:// URL).
func Open(ctx context.Context, dsn string, opts sqlstore.Options) (*sqlstore.Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("postgres URL cannot be parsed")
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		// A new connection to a hung or unreachable server fails in 2 s.
		// Those opened for a storage call end with its deadline
		// (sqlstore.CallTimeout) anyway; this bounds the ones database/sql
		// opens in the background, each holding a place in the pool while
		// it waits, and the first at start. 2 s is libpq's least.
		q.Set("connect_timeout", "2")
	}
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("open postgres database %s: %w", u.Redacted(), err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	// pgx refuses QueryExecModeCacheDescribe on connections whose
	// description cache is off (description_cache_capacity=0, which some
	// PgBouncer set-ups use); the batched updates then go as text.
	f := flavor{replan: pgx.QueryExecModeCacheDescribe}
	if q.Get("description_cache_capacity") == "0" {
		f.replan = pgx.QueryExecModeExec
	}
	pools := sqlstore.Pools{Read: db, Write: db}
	if pools.Planned, err = openPlannedPool(ctx, u.String(), plannedSettings, opts.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres database %s: %w", u.Redacted(), err)
	}
	st, err := sqlstore.Open(ctx, f, pools, opts)
	if err != nil {
		return nil, fmt.Errorf("postgres database %s: %w", u.Redacted(), err)
	}
	return st, nil
}

// plannedSettings are the session settings of the pool that runs the
// coalesced reads and the group commit's combined statements
// (sqlstore.Pools.Planned). The coalesced reads of refresh and code grants
// were planned again on almost every execution: PostgreSQL's choice
// between a prepared statement's generic plan and one made for the values
// at hand favours the latter when a value is an array (without it, it
// assumes 10 elements; they held about 6), and planning these joins took
// twice as long as running them (pg_stat_statements at c=64: 0.12 ms a
// plan, 17 µs of the database's time per refresh). These sessions always
// use the generic plan, made once per connection, and make it without
// sequential scans: made on tables the statistics call small (a new
// database), it would otherwise scan each whole table for every id once
// they had grown. Every such statement finds its rows by primary key, one
// id at a time (sqlstore's byIDs, the batched updates, the foreign key
// checks), so the index is always the right plan. They go in the startup
// packet: no round trip, under connect_timeout, and a pooler that does not
// pass them on refuses the connection instead of handing them to others.
var plannedSettings = map[string]string{"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}

// plannedConns bounds the planned pool: two reads at once of each of the
// three kinds (sqlstore's lookupWorkers), and the two group-commit writers.
const plannedConns = 8

// openPlannedPool opens the planned pool with settings (see
// plannedSettings). When the server refuses them (a pooler such as
// PgBouncer, which refuses startup parameters it does not know; PostgreSQL
// before 12), it logs why and returns nil: the reads then share the main
// pool, planned as PostgreSQL chooses, and the group commit makes no
// combined statements. Any other failure (an unreachable server, a wrong
// password) is left to the main pool's check to report.
func openPlannedPool(ctx context.Context, dsn string, settings map[string]string, log *slog.Logger) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("postgres URL cannot be parsed")
	}
	for k, v := range settings {
		cfg.RuntimeParams[k] = v
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(plannedConns)
	db.SetMaxIdleConns(plannedConns)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var pe *pgconn.PgError
	if err := db.PingContext(pctx); errors.As(err, &pe) && refusedSetting(pe.Code) {
		db.Close()
		if log == nil {
			log = slog.Default()
		}
		log.Warn("postgres: the server refused the session settings of the coalesced reads and combined writes; the reads share the main pool and grant batches stay transactions",
			"settings", fmt.Sprint(settings), "code", pe.Code, "error", pe.Message)
		return nil, nil
	}
	return db, nil
}

// refusedSetting reports whether code is what a server answers a startup
// parameter it does not take with: PostgreSQL for an unknown setting
// (undefined_object) or value (invalid_parameter_value), PgBouncer for
// one it does not pass on (protocol_violation).
func refusedSetting(code string) bool {
	return code == "42704" || code == "22023" || code == "08P01"
}

type flavor struct {
	replan pgx.QueryExecMode // see Replan
}

func (flavor) Embedded() bool { return false } // over the network

func (flavor) Name() string { return "postgres" }

func (flavor) Writers() int { return writers }

func (flavor) Rebind(query string) string { return query } // pgx takes $n as is

// Replan runs a statement as pgx's unnamed statement, which PostgreSQL
// plans for the values of each execution; pgx keeps its description, so
// its arguments still go in binary and it is still one round trip.
func (f flavor) Replan() any { return f.replan }

func (flavor) Classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case "23505": // unique_violation
		return storage.ErrAlreadyExists
	case "23503": // foreign_key_violation
		return storage.ErrInUse
	}
	return nil
}

// Refused: an error the server answered with; the statement then rolled
// back. A statement whose connection broke, or whose deadline passed,
// while it ran may have committed all the same.
func (flavor) Refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

func (flavor) Retryable(err error) bool {
	var pe *pgconn.PgError
	// deadlock_detected, serialization_failure, and lock_not_available: a
	// bulk revocation gives up a lock wait early (sqlstore's revokeWhere)
	// rather than wait for the deadlock check.
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" || pe.Code == "55P03")
}

// migrationLock is an arbitrary constant naming latchkey's advisory lock.
const migrationLock = 0x6c61746368

// LockMigrations takes a transaction-scoped advisory lock, so nodes starting
// together migrate one after the other.
func (flavor) LockMigrations(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock))
	return err
}
