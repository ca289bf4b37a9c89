package sqlstore

import (
	"github.com/latchkey-dev/latchkey/internal/storage"

	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// SQLite parses a statement every time it is run unprepared, which cost a
// sixth of the token endpoint's CPU; every statement is therefore prepared
// once per pool and reused.

// stmtCache holds the prepared statements of one pool.
type stmtCache struct {
	db     *sql.DB
	rebind func(string) string // Flavor.Rebind
	m      sync.Map            // query -> *sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := c.m.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := c.db.PrepareContext(ctx, c.rebind(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}

// pool runs queries on a *sql.DB through prepared statements.
type pool struct {
	*sql.DB
	stmts     *stmtCache
	deadlines *deadlines // nil on an embedded database
}

func newPool(db *sql.DB, f Flavor, d *deadlines) *pool {
	return &pool{DB: db, stmts: &stmtCache{db: db, rebind: f.Rebind}, deadlines: d}
}

// ctx is the context a read runs under. A networked database's read ends
// within CallTimeout, so a hung server cannot hold the request. An embedded
// one's read runs uncancellable and without a deadline (Flavor.Embedded): it
// waits on no network, and in WAL mode a reader never waits for the writer,
// so nothing a deadline could cut short is there to wait for.
func (p *pool) ctx(ctx context.Context) context.Context {
	if p.deadlines == nil {
		return context.WithoutCancel(ctx)
	}
	return p.deadlines.bound(ctx)
}

func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = p.ctx(ctx)
	st, err := p.stmts.get(ctx, query)
	if err != nil {
		return p.DB.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = p.ctx(ctx)
	st, err := p.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// wtx is a write transaction that runs its statements prepared and holds
// the token sets its batch will insert together.
type wtx struct {
	*sql.Tx
	stmts   *stmtCache
	pending []*storage.TokenSet
	arrays  bool // multi-row INSERTs take arrays (arrayInsert): on PostgreSQL
}

// queueTokens adds a token set to the batch's next multi-row INSERT.
func (t *wtx) queueTokens(ts *storage.TokenSet) { t.pending = append(t.pending, ts) }

// flush inserts the queued token sets now.
func (t *wtx) flush(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	err := insertTokenSets(ctx, t, t.pending)
	t.pending = t.pending[:0]
	return err
}

func (t *wtx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := t.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return t.Tx.StmtContext(ctx, st), nil
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// AnonymousPlaceholders rewrites a query whose placeholders are $1, $2, …,
// $n, each once and in that order, with SQLite's anonymous "?" instead, and
// returns any other query unchanged. The SQLite driver looks up the name of
// every parameter it binds, a linear scan over the statement's named
// parameters, which made a 64-row INSERT's binding quadratic; "?" has no name.
func AnonymousPlaceholders(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	next, quoted := 1, false
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case ch == '\'':
			quoted = !quoted
		case ch == '$' && !quoted:
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if n, err := strconv.Atoi(query[i+1 : j]); err != nil || n != next {
				return query
			}
			next++
			b.WriteByte('?')
			i = j - 1
			continue
		}
		b.WriteByte(ch)
	}
	if next == 1 {
		return query
	}
	return b.String()
}
