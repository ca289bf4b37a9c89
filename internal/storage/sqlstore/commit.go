package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/tracing"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

var errClosed = errors.New("storage is closed")

// errNotStarted answers a write whose deadline passed while it was queued:
// nothing of it was written.
var errNotStarted = fmt.Errorf("the database took no write within its deadline: %w", context.DeadlineExceeded)

// writeFn is one logical write. It returns an error only to abort: logical
// outcomes that must still commit (a detected replay that revokes a family)
// are reported through the closure, not the error.
type writeFn func(ctx context.Context, tx *wtx) error

type writeReq struct {
	ctx    context.Context
	win    *window // on a networked database: the write's deadline, from when it was queued
	fn     writeFn
	tokens *storage.TokenSet // instead of fn: a batch stores all its token sets together
	// keyed marks a write that touches only rows it names by a key no token
	// still waiting in the batch can have (the code or refresh token being
	// redeemed), so it may run before those tokens are inserted; any other
	// write runs after them. A keyed write that reads more calls flush first.
	keyed bool
	// upd is the keyed write's conditional update, made with the batch's
	// others of its kind in one statement (batched.go); fn then runs only
	// when that changed nothing.
	upd  *keyedUpdate
	done chan error
}

// committer is the group commit: writers queue their work, and each worker
// runs whatever has queued in one transaction and one commit (one fsync on
// SQLite), then answers everyone in it. Callers return only after the commit,
// so every answered write is durable. While a batch commits the next one
// gathers, so batches grow with load; no timed wait is ever added (see
// gatherAndRun for the one yield).
type committer struct {
	db        *sql.DB
	stmts     *stmtCache
	log       *slog.Logger
	retryable func(error) bool
	refused   func(error) bool // Flavor.Refused
	deadlines *deadlines       // nil on an embedded database (see run)
	embedded  bool             // Flavor.Embedded
	replan    any              // Flavor.Replan
	planned   *pool            // Pools.Planned, if any: runs combinedStatement
	onCommit  func(writes int, d time.Duration, err error)
	tracer    trace.Tracer   // nil when tracing is off
	reqs      chan *writeReq // buffered, so a writer rarely waits to queue
	dones     sync.Pool      // of chan error, one per write in flight
	// turn, with several workers, is held by the one that gathers and runs
	// the next batch. It passes on when that batch ends, or once the batch
	// has run for handoff, so the workers take turns, not batches side by
	// side, unless a batch is slow (see handoff).
	turn chan struct{}

	workers
}

func newCommitter(db *sql.DB, f Flavor, d *deadlines, onCommit func(int, time.Duration, error), tracer trace.Tracer, log *slog.Logger) *committer {
	if onCommit == nil {
		onCommit = func(int, time.Duration, error) {}
	}
	c := &committer{db: db, stmts: &stmtCache{db: db, rebind: f.Rebind}, log: log, retryable: f.Retryable, refused: f.Refused,
		deadlines: d, embedded: f.Embedded(), replan: f.Replan(), onCommit: onCommit, tracer: tracer,
		reqs: make(chan *writeReq, maxBatch)}
	c.dones.New = func() any { return make(chan error, 1) }
	if f.Writers() > 1 {
		c.turn = make(chan struct{}, 1)
		c.turn <- struct{}{}
	}
	c.start(f.Writers(), c.work)
	return c
}

// handoff is how long a batch runs before another worker may start the
// next one. Two PostgreSQL writers in turns, the turn passing when a batch
// ends or has run this long, measured 1.05-1.15x the throughput of two
// side by side (larger batches; fewer transactions locking the same
// client row for the foreign key check at once); a batch stuck
// behind a row lock, or on a stalled connection, still holds up the
// others only this long. Busy PostgreSQL batches took 2.9 ms on average,
// 99 % under 5 ms.
const handoff = 25 * time.Millisecond

// take waits for the turn; false when the committer is closing.
func (c *committer) take() bool {
	select {
	case <-c.turn:
		return true
	case <-c.quit:
		return false
	}
}

// runInTurn runs a batch while holding the turn, passing the turn on when
// the batch ends or after handoff, whichever comes first.
func (c *committer) runInTurn(batch []*writeReq) {
	var once sync.Once
	pass := func() { once.Do(func() { c.turn <- struct{}{} }) }
	t := time.AfterFunc(handoff, pass)
	c.gatherAndRun(batch)
	t.Stop()
	pass()
}

// do queues fn and waits for its transaction to commit. Once queued, a write
// is waited for even if ctx ends, so the caller never mistakes a committed
// write for a failed one. On a networked database the wait is bounded all the
// same: the write is dropped unstarted, or its transaction cut off, once
// CallTimeout has passed since it was queued.
func (c *committer) do(ctx context.Context, fn writeFn) error {
	return c.queue(ctx, &writeReq{ctx: ctx, fn: fn})
}

// doKeyed is do for a keyed write (see writeReq.keyed) that stores its tokens
// with wtx.queueTokens, so a batch of them shares multi-row INSERTs.
func (c *committer) doKeyed(ctx context.Context, fn writeFn) error {
	return c.queue(ctx, &writeReq{ctx: ctx, fn: fn, keyed: true})
}

// doUpdate is doKeyed for a write that starts with upd's conditional
// update: the batch makes it with the others of its kind (batched.go) and
// calls upd.won when it changed the row, fn otherwise.
func (c *committer) doUpdate(ctx context.Context, upd keyedUpdate, fn writeFn) error {
	return c.queue(ctx, &writeReq{ctx: ctx, fn: fn, keyed: true, upd: &upd})
}

// doTokens stores a token set, like do.
func (c *committer) doTokens(ctx context.Context, tokens *storage.TokenSet) error {
	return c.queue(ctx, &writeReq{ctx: ctx, tokens: tokens})
}

func (c *committer) queue(ctx context.Context, r *writeReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var expired <-chan struct{} // nil, so never ready, without a deadline
	if c.deadlines != nil {
		r.win = c.deadlines.current()
		expired = r.win.ctx.Done()
	}
	r.done = c.dones.Get().(chan error)
	if !c.enter() {
		c.dones.Put(r.done)
		return errClosed
	}
	select {
	case c.reqs <- r:
	default:
		// The queue is full: wait for room, for the caller to give up, or
		// for the deadline. Only here is ctx.Done asked for, which makes a
		// channel.
		select {
		case c.reqs <- r:
		case <-ctx.Done():
			c.leave()
			c.dones.Put(r.done)
			return ctx.Err()
		case <-expired:
			c.leave()
			c.dones.Put(r.done)
			return errNotStarted
		}
	}
	c.leave()
	err := <-r.done
	c.dones.Put(r.done) // each write gets exactly one answer, now received
	return err
}

// close stops taking writes and waits until every queued one has committed.
func (c *committer) close() {
	c.stop()
	c.stmts.close()
}

func (c *committer) work() {
	batch := make([]*writeReq, 0, maxBatch)
loop:
	for {
		if c.turn != nil && !c.take() {
			break
		}
		select {
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		case <-c.quit:
			break loop // the turn, if held, is dropped: take answers quit from now on
		}
		if c.turn != nil {
			c.runInTurn(batch)
		} else {
			c.gatherAndRun(batch)
		}
	}
	// close has stopped new writes; commit what is still queued, the
	// workers side by side, so one stuck batch holds up no other.
	for c.gatherAndRun(batch[:0]) {
	}
}

// gatherAndRun adds whatever else is queued to batch, up to maxBatch, and
// runs it; it reports whether it ran anything.
func (c *committer) gatherAndRun(batch []*writeReq) bool {
	batch = drain(c.reqs, batch, maxBatch)
	if len(batch) == 0 {
		return false
	}
	if len(batch) < maxBatch {
		// Let the goroutines that are runnable now, mostly requests a few
		// microseconds from queueing their own write, run first, and take
		// their writes into this batch: a commit costs the same CPU for one
		// write as for dozens, and the CPU is what bounds a busy server.
		// With nothing else to run it returns at once, so an idle server
		// adds no delay; a busy one answers sooner for spending less.
		runtime.Gosched()
		batch = drain(c.reqs, batch, maxBatch)
	}
	c.run(batch)
	clear(batch) // drop references to finished requests
	return true
}

// drain appends to batch what ch holds, without waiting, up to limit in all.
func drain[T any](ch <-chan T, batch []T, limit int) []T {
	for len(batch) < limit {
		select {
		case r := <-ch:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// run commits a batch in one transaction. If any write in it fails, the
// transaction is rolled back and each write is retried in a transaction of
// its own, so one bad write never fails its neighbours. A failure of the
// COMMIT itself that is not the database's refusal (a connection lost, a
// deadline passed) may have come after the COMMIT took effect
// (errMaybeCommitted), so it is every write's answer, never run again: a
// rotation run again would find its own rotation and take it for a replay. On a networked
// database all of it, retries included, runs under the earliest deadline of
// its writes, so no writer waits past its own (give or take a tick); after
// a timeout the retries fail at once.
func (c *committer) run(batch []*writeReq) {
	live := batch[:0:0]
	var first *window
	for _, r := range batch {
		err := r.ctx.Err()
		if err == nil && r.win != nil && r.win.ctx.Err() != nil {
			err = errNotStarted
		}
		if err != nil {
			r.done <- err // not started, so nothing was written
			continue
		}
		if r.win != nil && (first == nil || r.win.until.Before(first.until)) {
			first = r.win
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// An embedded database's statements cannot hang on a network, so they
	// run without a deadline and uncancellable: a cancellable context costs
	// database/sql and the driver a goroutine per statement. What can stall
	// them is the disk, which a context cannot interrupt, and a lock held by
	// another process, which the busy timeout (10 s) bounds and tx does not
	// wait through twice.
	ctx := context.Background()
	if first != nil {
		ctx = first.ctx
	}
	if c.planned != nil {
		if batches, ok := combine(live); ok {
			if live = c.runCombined(ctx, live, batches); len(live) == 0 {
				return
			}
		}
	}
	err := c.tx(ctx, live)
	if err == nil {
		for _, r := range live {
			r.done <- nil
		}
		return
	}
	if len(live) == 1 || errors.Is(err, errMaybeCommitted) && !c.refused(err) {
		for _, r := range live {
			r.done <- err
		}
		return
	}
	for _, r := range live {
		r.done <- c.tx(ctx, []*writeReq{r})
	}
}

// maxAttempts bounds retries of a transaction the database aborted to break
// a deadlock or a serialization conflict; such an abort undid everything, so
// running it again is safe.
const maxAttempts = 5

// timeout is how long one call may take (see deadlines.timeout).
func (c *committer) timeout() time.Duration {
	if c.deadlines != nil {
		return c.deadlines.timeout
	}
	return CallTimeout
}

func (c *committer) tx(ctx context.Context, reqs []*writeReq) error {
	return c.attempt(reqs, func() error { return c.tryTx(ctx, reqs) })
}

// runCombined runs live, with its update batches (combine), as one
// statement (combinedStatement) and answers the writes it settles: the
// token sets and the updates that changed their rows, whose won it calls.
// It returns the writes left to a transaction: those whose updates changed
// nothing (their tokens were not stored), or all of them when the database
// refused the statement, which then wrote nothing. Any other failure (a
// broken connection, a passed deadline) may have come after the statement
// committed: were the batch run again, a rotation would find its own
// rotation and take it for a replay, so that failure is every write's
// answer, as a lost COMMIT's always was.
//
// The statement runs on the planned pool (Pools.Planned), prepared, on its
// generic plan. Planned for each batch's values instead, as runUpdates
// plans the updates alone, the whole statement's planning cost the
// database what the round trips saved (refresh 0.99x the throughput,
// against 1.14x on the planned pool; paired runs), so without a planned
// pool batches are transactions.
func (c *committer) runCombined(ctx context.Context, live []*writeReq, batches []*updateBatch) []*writeReq {
	q, args, err := combinedStatement(live, batches)
	byKey := make(map[string]*keyedUpdate, len(live))
	for _, b := range batches {
		for _, u := range b.byID {
			byKey[hitKey(u)] = u
		}
	}
	if err == nil {
		err = c.attempt(live, func() error {
			for _, u := range byKey {
				u.hit = false
			}
			st, err := c.planned.stmts.get(ctx, q)
			if err != nil {
				return err
			}
			rows, err := st.QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			// markHits closes rows, which waits for the end of the
			// statement, its commit included, and reports a failure
			// there (a foreign key is checked at the end).
			return markHits(rows, byKey)
		})
	}
	switch {
	case err != nil && c.refused(err):
		return live
	case err != nil:
		for _, r := range live {
			r.done <- err
		}
		return nil
	}
	var missed []*writeReq
	for _, r := range live {
		switch {
		case r.upd == nil:
			r.done <- nil
		case r.upd.hit:
			r.upd.won()
			r.done <- nil
		default:
			missed = append(missed, r)
		}
	}
	return missed
}

// attempt runs try, one transaction for reqs, again while the database
// aborts it to break a deadlock or a serialization conflict, and records
// it as one commit.
func (c *committer) attempt(reqs []*writeReq, try func() error) error {
	start := time.Now()
	var span trace.Span
	if c.tracer != nil {
		span = c.commitSpan(reqs)
	}
	var err error
	for range maxAttempts {
		err = try()
		// No retry once a call's time is spent: on SQLite, where a busy
		// timeout (10 s) has already been waited through, not four more.
		if err == nil || !c.retryable(err) || time.Since(start) > c.timeout() {
			break
		}
	}
	c.onCommit(len(reqs), time.Since(start), err)
	if span != nil {
		tracing.End(span, err)
	}
	return err
}

// commitSpan starts the "storage.commit" span of one transaction. One
// commit serves many requests, and a span has one parent: it is a child of
// the first write whose trace is sampled (else the first traced one), and
// links to the others' spans, so each request's trace can find it.
func (c *committer) commitSpan(reqs []*writeReq) trace.Span {
	parent, links := -1, make([]trace.Link, 0, len(reqs))
	for i, r := range reqs {
		sc := trace.SpanContextFromContext(r.ctx)
		if !sc.IsValid() {
			continue
		}
		if parent < 0 || (sc.IsSampled() && !trace.SpanContextFromContext(reqs[parent].ctx).IsSampled()) {
			parent = i
		}
		links = append(links, trace.Link{SpanContext: sc})
	}
	pctx := context.Background()
	if parent >= 0 {
		pctx = reqs[parent].ctx
		psc := trace.SpanContextFromContext(pctx)
		links = slices.DeleteFunc(links, func(l trace.Link) bool { return l.SpanContext.Equal(psc) })
	}
	_, span := c.tracer.Start(pctx, "storage.commit", trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("latchkey.commit.writes", len(reqs))))
	return span
}

func (c *committer) tryTx(ctx context.Context, reqs []*writeReq) error {
	if !c.embedded && onlyTokens(reqs) {
		return c.storeTokens(ctx, reqs)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	w := &wtx{Tx: tx, stmts: c.stmts, arrays: !c.embedded}
	if err := w.runUpdates(ctx, reqs, c.replan); err != nil {
		c.rollback(tx)
		return err
	}
	// The writes whose updates changed their rows go first as a whole:
	// their tokens are queued before any write below that reads or
	// revokes tokens, as if they had been first in the batch.
	for _, r := range reqs {
		if r.upd != nil && r.upd.hit {
			r.upd.won()
			w.queueTokens(r.upd.tokens)
		}
	}
	for _, r := range reqs {
		if r.tokens != nil {
			w.queueTokens(r.tokens)
			continue
		}
		if r.upd != nil && r.upd.hit {
			continue // done above
		}
		err := error(nil)
		if !r.keyed {
			err = w.flush(ctx) // the write may read or revoke tokens queued before it
		}
		if err == nil {
			err = r.fn(ctx, w)
		}
		if err != nil {
			c.rollback(tx)
			return err
		}
	}
	if err := w.flush(ctx); err != nil {
		c.rollback(tx)
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w: %w", errMaybeCommitted, err)
	}
	return nil
}

// errMaybeCommitted marks a failure that may have come after the batch was
// stored: of a COMMIT, or of a batch that is one statement.
var errMaybeCommitted = errors.New("the batch may have been stored")

// onlyTokens reports whether every write of reqs is a token set (doTokens).
func onlyTokens(reqs []*writeReq) bool {
	for _, r := range reqs {
		if r.tokens == nil {
			return false
		}
	}
	return true
}

// storeTokens stores a batch of nothing but token sets, the whole of a
// client_credentials load, on PostgreSQL: one statement (tokenStatement),
// which is a transaction of its own, so no BEGIN and COMMIT, which were two
// of the batch's three round trips.
func (c *committer) storeTokens(ctx context.Context, reqs []*writeReq) error {
	sets := make([]*storage.TokenSet, len(reqs))
	for i, r := range reqs {
		sets[i] = r.tokens
	}
	q, args, err := tokenStatement(rowsOf(sets, nil))
	if err != nil || q == "" {
		return err
	}
	st, err := c.stmts.get(ctx, q)
	if err != nil {
		return fmt.Errorf("prepare token insert: %w", err)
	}
	if _, err = st.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("%w: %w", errMaybeCommitted, err)
	}
	return nil
}

// rollback ends a failed transaction. The failure itself goes to the
// writers; a rollback fails only on a connection already lost (database/sql
// then drops it), so that is logged at debug level, not once per batch while
// a database is down.
func (c *committer) rollback(tx *sql.Tx) {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		c.log.Debug("rollback failed", "err", err)
	}
}
