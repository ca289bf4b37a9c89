package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestMain says when this package's PostgreSQL tests were skipped.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// testPostgres is enough of the postgres package's flavor for the
// committer's own tests, which that package cannot reach.
type testPostgres struct{}

func (testPostgres) Name() string                                  { return "postgres" }
func (testPostgres) Classify(error) error                          { return nil }
func (testPostgres) Retryable(error) bool                          { return false }
func (testPostgres) LockMigrations(context.Context, *sql.Tx) error { return nil }
func (testPostgres) Writers() int                                  { return 1 }
func (testPostgres) Embedded() bool                                { return false }
func (testPostgres) Rebind(q string) string                        { return q }
func (testPostgres) Replan() any                                   { return nil }
func (testPostgres) Refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

// openTestPostgres opens a store on a fresh schema with the client "app",
// and a planned pool whose sessions have the settings the postgres package
// gives its own (passed through the DSN). onCommit, if not nil, is told of
// every commit.
func openTestPostgres(t *testing.T, onCommit func(writes int, d time.Duration, err error)) (*Store, context.Context) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	planned, err := sql.Open("pgx", dsn+"&plan_cache_mode=force_generic_plan&enable_seqscan=off")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, testPostgres{}, Pools{Read: db, Write: db, Planned: planned},
		Options{Migrate: true, Logger: slog.New(slog.DiscardHandler), OnCommit: onCommit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var mode string
	if err := planned.QueryRowContext(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&mode); err != nil || mode != "force_generic_plan" {
		t.Fatalf("the planned pool's sessions: plan_cache_mode %q, %v", mode, err)
	}
	if err := st.CreateClient(ctx, storage.Client{ID: "app", Name: "App", GrantTypes: []string{"refresh_token"},
		AccessTokenFormat: "opaque", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return st, ctx
}

// TestCombinedStatement: on PostgreSQL a batch of token sets, rotations and
// code redemptions is one statement (combinedStatement). The tokens of an
// update that changed its row must be stored with it, those of one that
// did not must not be (its write then takes its own path), and a
// statement that fails must leave nothing written, the updates included.
func TestCombinedStatement(t *testing.T) {
	st, ctx := openTestPostgres(t, nil)
	now := time.Now().UTC().Truncate(time.Millisecond)
	owner := storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}
	access := func(id string) *storage.AccessToken {
		return &storage.AccessToken{ID: id, ClientID: "app", Owner: owner, IssuedAt: now}
	}
	refresh := func(id string) *storage.RefreshToken {
		return &storage.RefreshToken{ID: id, FamilyID: "fam-" + id, ClientID: "app", Owner: owner, AccessTokenID: id + "-at", IssuedAt: now}
	}
	event := func(id string) *storage.AuditEvent {
		return &storage.AuditEvent{ID: id, Time: now, Type: "token.issued", ClientID: "app"}
	}
	for _, id := range []string{"rt-live", "rt-used", "rt-kept"} {
		if err := st.CreateTokens(ctx, storage.TokenSet{Access: access(id + "-at"), Refresh: refresh(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RotateRefreshToken(ctx, storage.Rotation{OldID: "rt-used", Now: now, Access: *access("rt-used-2-at"), Refresh: *refresh("rt-used-2")}); err != nil {
		t.Fatal(err)
	}
	for id, expires := range map[string]time.Time{"code-live": now.Add(time.Minute), "code-expired": now.Add(-time.Minute)} {
		if err := st.CreateAuthCode(ctx, storage.AuthCode{ID: id, ClientID: "app", Owner: owner, RedirectURI: "https://app.example/cb",
			CreatedAt: now.Add(-2 * time.Minute), ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}

	var won []string
	rotation := func(old, next string) *writeReq {
		return &writeReq{done: make(chan error, 2), upd: &keyedUpdate{kind: rotateKind, id: old, now: ms(now), to: next,
			tokens: &storage.TokenSet{Access: access(next + "-at"), Refresh: refresh(next), Event: event("ev-" + next)},
			won:    func() { won = append(won, old) }}}
	}
	redemption := func(code string) *writeReq {
		return &writeReq{done: make(chan error, 2), upd: &keyedUpdate{kind: redeemKind, id: code, now: ms(now),
			tokens: &storage.TokenSet{Access: access(code + "-at"), Event: event("ev-" + code)},
			won:    func() { won = append(won, code) }}}
	}
	plain := &writeReq{done: make(chan error, 2), tokens: &storage.TokenSet{Access: access("plain-at"), Event: event("ev-plain")}}
	live, used := rotation("rt-live", "rt-live-2"), rotation("rt-used", "rt-used-3")
	codeLive, codeExpired := redemption("code-live"), redemption("code-expired")
	reqs := []*writeReq{live, plain, used, codeLive, codeExpired}

	combinable := func(batch []*writeReq) bool { _, ok := combine(batch); return ok }
	// combined runs batch as one statement and returns the writes it left
	// to a transaction, having checked the others were answered once each
	// with success.
	combined := func(batch []*writeReq) []*writeReq {
		t.Helper()
		batches, ok := combine(batch)
		if !ok {
			t.Fatal("not combinable")
		}
		rest := st.commit.runCombined(ctx, batch, batches)
		for _, r := range batch {
			want := 1
			if slices.Contains(rest, r) {
				want = 0
			}
			if n := len(r.done); n != want {
				t.Fatalf("a write answered %d times, want %d", n, want)
			}
			if want == 1 {
				if err := <-r.done; err != nil {
					t.Fatalf("a settled write answered %v", err)
				}
			}
		}
		return rest
	}
	if !combinable(reqs) {
		t.Fatal("a batch of token sets, rotations and redemptions is not combinable")
	}
	for name, batch := range map[string][]*writeReq{
		"the same token rotated twice": {live, rotation("rt-live", "rt-live-9")},
		"no update":                    {plain},
		"another kind of write":        {live, {fn: func(context.Context, *wtx) error { return nil }}},
	} {
		if combinable(batch) {
			t.Errorf("%s: combinable", name)
		}
	}

	missed := combined(reqs)
	if !slices.Equal(missed, []*writeReq{used, codeExpired}) {
		t.Errorf("missed %d writes, want the rotation of a rotated token and the redemption of an expired code", len(missed))
	}
	if !slices.Equal(won, []string{"rt-live", "code-live"}) {
		t.Errorf("won: %q", won)
	}
	if !live.upd.hit || used.upd.hit || !codeLive.upd.hit || codeExpired.upd.hit {
		t.Errorf("hits: %v %v %v %v", live.upd.hit, used.upd.hit, codeLive.upd.hit, codeExpired.upd.hit)
	}
	stored := func(table, id string) bool {
		t.Helper()
		var n int
		if err := st.read.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	for _, c := range []struct {
		table, id string
		want      bool
	}{
		{"access_tokens", "plain-at", true}, {"audit_events", "ev-plain", true},
		{"access_tokens", "rt-live-2-at", true}, {"refresh_tokens", "rt-live-2", true}, {"audit_events", "ev-rt-live-2", true},
		{"access_tokens", "code-live-at", true}, {"audit_events", "ev-code-live", true},
		{"access_tokens", "rt-used-3-at", false}, {"refresh_tokens", "rt-used-3", false}, {"audit_events", "ev-rt-used-3", false},
		{"access_tokens", "code-expired-at", false}, {"audit_events", "ev-code-expired", false},
	} {
		if got := stored(c.table, c.id); got != c.want {
			t.Errorf("%s %s stored: %v, want %v", c.table, c.id, got, c.want)
		}
	}
	old, err := st.GetRefreshToken(ctx, "rt-live")
	if err != nil || old.RotatedAt.IsZero() || old.SuccessorID != "rt-live-2" {
		t.Errorf("rotated token: %+v, %v", old, err)
	}

	// A failing statement (a token of a client that does not exist) writes
	// nothing: not its tokens, and not the rotation beside them.
	// The database's refusal leaves every write of the batch unanswered,
	// for the transaction path (any other failure would answer them all).
	orphan := &writeReq{done: make(chan error, 2), tokens: &storage.TokenSet{Access: &storage.AccessToken{ID: "orphan-at", ClientID: "nobody", Owner: owner, IssuedAt: now}}}
	won = nil
	refused := []*writeReq{rotation("rt-kept", "rt-kept-2"), orphan}
	if rest := combined(refused); !slices.Equal(rest, refused) {
		t.Fatalf("a batch with a token of an unknown client: %d writes left to a transaction, want both, as refused", len(rest))
	}
	if won != nil {
		t.Errorf("won called for %q in a failed statement", won)
	}
	kept, err := st.GetRefreshToken(ctx, "rt-kept")
	if err != nil || !kept.RotatedAt.IsZero() || stored("refresh_tokens", "rt-kept-2") {
		t.Errorf("after a failed statement: %+v, %v; successor stored %v", kept, err, stored("refresh_tokens", "rt-kept-2"))
	}
}

// TestCombinedBatchRunsTheMissedPaths: run answers a combined batch's
// writes once each; the writes whose updates missed run their own path (fn)
// in a transaction after it; a statement the database refuses leaves the
// batch to the transaction path, which fails only the write at fault; and
// any other failure, after which the statement may have committed, is
// every write's answer, with nothing run again.
func TestCombinedBatchRunsTheMissedPaths(t *testing.T) {
	var commits []int
	st, ctx := openTestPostgres(t, func(writes int, _ time.Duration, _ error) { commits = append(commits, writes) })
	now := time.Now().UTC().Truncate(time.Millisecond)
	owner := storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}
	for _, id := range []string{"rt-a", "rt-b", "rt-c"} {
		if err := st.CreateTokens(ctx, storage.TokenSet{Refresh: &storage.RefreshToken{ID: id, FamilyID: "fam-" + id, ClientID: "app",
			Owner: owner, IssuedAt: now}}); err != nil {
			t.Fatal(err)
		}
	}
	ran := map[string]int{}
	req := func(id, client string) *writeReq {
		next := id + "-next"
		return &writeReq{ctx: ctx, done: make(chan error, 2), keyed: true,
			fn: func(context.Context, *wtx) error { ran[id]++; return nil },
			upd: &keyedUpdate{kind: rotateKind, id: id, now: ms(now), to: next, won: func() { ran[id+" won"]++ },
				tokens: &storage.TokenSet{Refresh: &storage.RefreshToken{ID: next, FamilyID: "fam", ClientID: client, Owner: owner, IssuedAt: now}}}}
	}
	// answers runs batch and returns each write's one answer.
	answers := func(batch ...*writeReq) []error {
		t.Helper()
		commits = commits[:0]
		clear(ran)
		st.commit.run(batch)
		errs := make([]error, len(batch))
		for i, r := range batch {
			if n := len(r.done); n != 1 {
				t.Fatalf("write %s answered %d times", r.upd.id, n)
			}
			errs[i] = <-r.done
		}
		return errs
	}

	if errs := answers(req("rt-a", "app"), req("rt-unknown", "app")); errs[0] != nil || errs[1] != nil {
		t.Errorf("answers %v", errs)
	}
	if want := map[string]int{"rt-a won": 1, "rt-unknown": 1}; !maps.Equal(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}
	if !slices.Equal(commits, []int{2, 1}) {
		t.Errorf("commits of %v writes, want the statement of 2, then the transaction of the missed one", commits)
	}

	// rt-c's successor names an unknown client: the database refuses the
	// statement, and the transaction path then fails that write alone.
	errs := answers(req("rt-b", "app"), req("rt-c", "nobody"))
	if errs[0] != nil || errs[1] == nil || !st.flavor.Refused(errs[1]) {
		t.Errorf("answers %v, want the good write stored and the other's foreign key failure", errs)
	}
	if r, err := st.GetRefreshToken(ctx, "rt-b"); err != nil || r.SuccessorID != "rt-b-next" {
		t.Errorf("the good write: %+v, %v", r, err)
	}
	if r, err := st.GetRefreshToken(ctx, "rt-c"); err != nil || !r.RotatedAt.IsZero() {
		t.Errorf("the failed write's token: %+v, %v; want it not rotated", r, err)
	}

	// Any other failure (here the planned pool is closed) is the answer.
	st.planned.DB.Close()
	errs = answers(req("rt-b-next", "app"), req("rt-unknown", "app"))
	if errs[0] == nil || errs[1] == nil || st.flavor.Refused(errs[0]) {
		t.Errorf("answers %v, want the statement's own failure for both", errs)
	}
	if len(ran) != 0 {
		t.Errorf("ran %v after a failure that is not a refusal; want nothing run again", ran)
	}
}
