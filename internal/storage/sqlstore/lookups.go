package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// On PostgreSQL every read is a round trip, and with the database on the
// same cores its own work per statement (the protocol, binding, executing
// a cached plan) costs more than finding one row. A lookups coalesces the
// reads by id of one kind that arrive together (access tokens, the one read
// of introspection; refresh and code grants) into one statement over an
// array of ids (byIDs), the way the group commit coalesces writes:
// introspection on PostgreSQL at c=64 answered 1.78 times as many requests
// for 0.60 times the CPU (paired runs). SQLite, in process, has no round
// trip to save, but each read there is a read transaction of its own (two
// fcntl calls on the WAL index, the page cache dropped after any commit)
// and a statement run through the driver: coalesced, 8 reads took 24 µs
// instead of 62 in a benchmark of the driver alone, and introspection at
// c=64 answered 1.25 times as many requests for 0.75 times the CPU
// (paired runs; refresh 1.03×, code grant 1.07×).

// maxLookups bounds the ids of one coalesced read.
const maxLookups = 128

// lookupWorkers is how many coalesced reads run at once: two, so one
// gathers while the other is at the database.
const lookupWorkers = 2

// lookup is one caller's read in a coalesced one.
type lookup[T any] struct {
	id   string
	win  *window             // the window the read started in
	ctx  context.Context     // the read's deadline: the window's, or the caller's if sooner
	done chan lookupReply[T] // buffered: the worker never waits for a caller
}

type lookupReply[T any] struct {
	v   T
	err error
}

// lookups runs coalesced reads of rows of type T by id (see above).
type lookups[T any] struct {
	reader *pool
	d      *deadlines
	query  string                           // selects the rows whose ids are in $1
	arg    func(ids []string) any           // $1 (idsArg)
	scan   func(scanner) (string, T, error) // a row's id and value
	reqs   chan *lookup[T]
	dones  sync.Pool // of chan lookupReply[T]

	workers
}

func newLookups[T any](reader *pool, d *deadlines, query string, arg func([]string) any, scan func(scanner) (string, T, error)) *lookups[T] {
	l := &lookups[T]{reader: reader, d: d, query: query, arg: arg, scan: scan, reqs: make(chan *lookup[T], maxLookups)}
	l.dones.New = func() any { return make(chan lookupReply[T], 1) }
	l.start(lookupWorkers, l.work)
	return l
}

// get reads the row id, with whatever other reads are waiting; a missing
// row is sql.ErrNoRows. Like any read (pool.ctx) it follows on PostgreSQL
// its deadline, CallTimeout or ctx's if sooner, not ctx's cancellation, and
// on SQLite neither.
func (l *lookups[T]) get(ctx context.Context, id string) (T, error) {
	var zero T
	// On SQLite the read never ends early, and run reads under a context
	// of its own: r.ctx is only waited on, and Background costs nothing.
	r := &lookup[T]{id: id, ctx: context.Background(), done: l.dones.Get().(chan lookupReply[T])}
	if l.d != nil {
		r.win = l.d.current()
		r.ctx = boundTo(ctx, r.win)
	}
	if !l.enter() {
		l.dones.Put(r.done)
		return zero, errClosed
	}
	select {
	case l.reqs <- r:
	case <-r.ctx.Done():
		l.leave()
		l.dones.Put(r.done) // never sent, so never answered
		return zero, fmt.Errorf("read not started within its deadline: %w", r.ctx.Err())
	}
	l.leave()
	select {
	case rep := <-r.done:
		l.dones.Put(r.done)
		return rep.v, rep.err
	case <-r.ctx.Done():
		// The worker will still answer, into the buffer nobody reads: the
		// channel is not reused.
		return zero, fmt.Errorf("read: %w", r.ctx.Err())
	}
}

func (l *lookups[T]) work() {
	batch := make([]*lookup[T], 0, maxLookups)
	for {
		select {
		case r := <-l.reqs:
			batch = append(batch[:0], r)
		case <-l.quit:
			// Closed: nothing can be queued any more; answer what was.
			for {
				select {
				case r := <-l.reqs:
					r.done <- lookupReply[T]{err: errClosed}
				default:
					return
				}
			}
		}
		batch = drain(l.reqs, batch, maxLookups)
		// As the committer does: let the readers that were runnable queue
		// their reads, then take those too.
		if len(batch) < maxLookups {
			runtime.Gosched()
			batch = drain(l.reqs, batch, maxLookups)
		}
		l.run(batch)
		clear(batch) // drop references to answered reads
	}
}

// errReadNotStarted answers a coalesced read whose deadline passed while
// it was queued.
var errReadNotStarted = fmt.Errorf("the database took no read within its deadline: %w", context.DeadlineExceeded)

// run reads batch's rows with one statement and answers each read. On
// PostgreSQL a read whose deadline has passed is left out and answered
// errReadNotStarted (never "not found"); the statement runs under the
// latest deadline of the others, each of which stops waiting at its own:
// under the earliest, one read that waited long in the queue would cut it
// short for every other. On SQLite reads have no deadline.
func (l *lookups[T]) run(batch []*lookup[T]) {
	var last *window
	live := make([]bool, len(batch))
	ids := make([]string, 0, len(batch))
	for i, r := range batch {
		if r.ctx.Err() != nil {
			continue
		}
		live[i] = true
		if r.win != nil && (last == nil || r.win.until.After(last.until)) {
			last = r.win
		}
		ids = append(ids, r.id)
	}
	var found map[string]T
	var err error
	if len(ids) > 0 {
		ctx := context.Background() // embedded: uncancellable, as pool.ctx
		if last != nil {
			ctx = last.ctx
		}
		found, err = l.read(ctx, ids)
	}
	for i, r := range batch {
		v, ok := found[r.id]
		switch {
		case !live[i]:
			r.done <- lookupReply[T]{err: errReadNotStarted}
		case err != nil:
			r.done <- lookupReply[T]{err: err}
		case !ok:
			r.done <- lookupReply[T]{err: sql.ErrNoRows}
		default:
			r.done <- lookupReply[T]{v: v}
		}
	}
}

func (l *lookups[T]) read(ctx context.Context, ids []string) (map[string]T, error) {
	st, err := l.reader.stmts.get(ctx, l.query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, l.arg(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[string]T, len(ids))
	for rows.Next() {
		id, v, err := l.scan(rows)
		if err != nil {
			return nil, err
		}
		found[id] = v
	}
	return found, rows.Err()
}

// byIDs is the FROM clause of a coalesced read of table's rows whose ids
// are in $1, as t: one index lookup per id. On PostgreSQL, `WHERE id =
// ANY($1)` was planned, on a table the statistics still called small (a
// new database filling up under load), as a scan of the whole table;
// OFFSET 0 keeps the planner from turning the lookup per id into such a
// join. SQLite has no LATERAL and needs none: it plans on its indexes,
// without statistics that could go stale, so the plain join looks each id
// up by key.
func byIDs(f Flavor, table string) string {
	if f.Embedded() {
		return idsFrom(f) + ` JOIN ` + table + ` t ON t.id = q.lookup_id`
	}
	return idsFrom(f) + ` JOIN LATERAL (SELECT * FROM ` + table + ` x WHERE x.id = q.lookup_id OFFSET 0) t ON true`
}

// A list of values goes to a statement as one parameter. PostgreSQL takes
// arrays, which pgx encodes from Go slices; SQLite has none, so there the
// list is one JSON array, which json_each turns into rows (the batched
// updates' lists too, updateJSON).

// idsFrom is the FROM item that yields the ids in $1 as q(lookup_id).
func idsFrom(f Flavor) string {
	if f.Embedded() {
		return `(SELECT value AS lookup_id FROM json_each($1)) AS q`
	}
	return `unnest($1::text[]) AS q(lookup_id)`
}

// idsArg is $1 of idsFrom for ids.
func idsArg(f Flavor) func(ids []string) any {
	if f.Embedded() {
		return func(ids []string) any { return jsonText(ids) }
	}
	return func(ids []string) any { return ids }
}

// coalesced are the statements of the coalesced reads of f, each taking
// its ids as $1 (idsFrom).
type coalesced struct{ access, refresh, code string }

func coalescedReads(f Flavor) coalesced {
	account := grantAccountByID
	if f.Embedded() {
		account = ` LEFT JOIN accounts acc ON acc.id = t.account_id`
	}
	return coalesced{
		access: `SELECT ` + accessColumns + familyRevokedAt + accountRevokedAt + ` FROM ` + byIDs(f, "access_tokens"),
		refresh: `SELECT ` + qualify("t", refreshColumns) + familyRevokedAt + `, ` + grantAccountColumns + `
		FROM ` + byIDs(f, "refresh_tokens") + account,
		code: `SELECT ` + qualify("t", codeColumns) + `, ` + grantAccountColumns + `
		FROM ` + byIDs(f, "auth_codes") + account,
	}
}

// CoalescedReads are the statements of f's coalesced reads, each taking
// its ids as $1: for a backend's tests of how they are planned.
func CoalescedReads(f Flavor) []string {
	q := coalescedReads(f)
	return []string{q.access, q.refresh, q.code}
}

// readers are the coalesced reads, one per kind.
type readers struct {
	access  *lookups[storage.AccessToken]
	refresh *lookups[refreshGrant]
	code    *lookups[codeGrant]
}

// refreshGrant and codeGrant are what GetRefreshGrant and GetAuthCodeGrant return.
type refreshGrant struct {
	t storage.RefreshToken
	a *storage.Account
}

type codeGrant struct {
	c storage.AuthCode
	a *storage.Account
}

func newReaders(f Flavor, reader *pool, d *deadlines) *readers {
	q, arg := coalescedReads(f), idsArg(f)
	return &readers{
		access: newLookups(reader, d, q.access, arg, func(row scanner) (string, storage.AccessToken, error) {
			t, err := scanAccess(row)
			return t.ID, t, err
		}),
		refresh: newLookups(reader, d, q.refresh, arg, func(row scanner) (string, refreshGrant, error) {
			t, a, err := scanRefreshGrant(row)
			return t.ID, refreshGrant{t, a}, err
		}),
		code: newLookups(reader, d, q.code, arg, func(row scanner) (string, codeGrant, error) {
			c, a, err := scanCodeGrant(row)
			return c.ID, codeGrant{c, a}, err
		}),
	}
}

// close stops taking reads and waits until every queued one is answered.
func (r *readers) close() {
	r.access.stop()
	r.refresh.stop()
	r.code.stop()
}
