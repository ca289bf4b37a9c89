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

// openTestPostgres opens a store on a fresh schema with the client "app".
// planned gives it a planned pool whose sessions have the settings the
// postgres package gives its own (passed through the DSN).
func openTestPostgres(t *testing.T, planned bool) (*Store, context.Context) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	pools := Pools{Read: db, Write: db}
	if planned {
		if pools.Planned, err = sql.Open("pgx", dsn+"&plan_cache_mode=force_generic_plan&enable_seqscan=off"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := Open(ctx, testPostgres{}, pools, Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	for _, planned := range []bool{false, true} {
		name := "main pool"
		if planned {
			name = "planned pool"
		}
		t.Run(name, func(t *testing.T) { testCombinedStatement(t, planned) })
	}
}

func testCombinedStatement(t *testing.T, planned bool) {
	st, ctx := openTestPostgres(t, planned)
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
		return &writeReq{upd: &keyedUpdate{kind: rotateKind, id: old, now: ms(now), to: next,
			tokens: &storage.TokenSet{Access: access(next + "-at"), Refresh: refresh(next), Event: event("ev-" + next)},
			won:    func() { won = append(won, old) }}}
	}
	redemption := func(code string) *writeReq {
		return &writeReq{upd: &keyedUpdate{kind: redeemKind, id: code, now: ms(now),
			tokens: &storage.TokenSet{Access: access(code + "-at"), Event: event("ev-" + code)},
			won:    func() { won = append(won, code) }}}
	}
	plain := &writeReq{tokens: &storage.TokenSet{Access: access("plain-at"), Event: event("ev-plain")}}
	live, used := rotation("rt-live", "rt-live-2"), rotation("rt-used", "rt-used-3")
	codeLive, codeExpired := redemption("code-live"), redemption("code-expired")
	reqs := []*writeReq{live, plain, used, codeLive, codeExpired}

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

	missed, err := st.commit.combined(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
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
	orphan := &writeReq{tokens: &storage.TokenSet{Access: &storage.AccessToken{ID: "orphan-at", ClientID: "nobody", Owner: owner, IssuedAt: now}}}
	if _, err := st.commit.combined(ctx, []*writeReq{rotation("rt-kept", "rt-kept-2"), orphan}); err == nil {
		t.Fatal("a batch with a token of an unknown client was stored")
	}
	kept, err := st.GetRefreshToken(ctx, "rt-kept")
	if err != nil || !kept.RotatedAt.IsZero() || stored("refresh_tokens", "rt-kept-2") {
		t.Errorf("after a failed statement: %+v, %v; successor stored %v", kept, err, stored("refresh_tokens", "rt-kept-2"))
	}
}

// TestCombinedBatchRunsTheMissedPaths: run answers a combined batch's
// writes once each; the writes whose updates missed run their own path (fn)
// after it, and a failed statement leaves the batch to the transaction
// path, which fails only the write at fault.
func TestCombinedBatchRunsTheMissedPaths(t *testing.T) {
	st, ctx := openTestPostgres(t, true)
	now := time.Now().UTC().Truncate(time.Millisecond)
	owner := storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}
	if err := st.CreateTokens(ctx, storage.TokenSet{Refresh: &storage.RefreshToken{ID: "rt-a", FamilyID: "fam-a", ClientID: "app",
		Owner: owner, IssuedAt: now}}); err != nil {
		t.Fatal(err)
	}
	ran := map[string]int{}
	req := func(id, client string) *writeReq {
		next := id + "-next"
		return &writeReq{ctx: ctx, done: make(chan error, 1), keyed: true,
			fn: func(context.Context, *wtx) error { ran[id]++; return nil },
			upd: &keyedUpdate{kind: rotateKind, id: id, now: ms(now), to: next, won: func() { ran[id+" won"]++ },
				tokens: &storage.TokenSet{Refresh: &storage.RefreshToken{ID: next, FamilyID: "fam", ClientID: client, Owner: owner, IssuedAt: now}}}}
	}
	a, unknown := req("rt-a", "app"), req("rt-unknown", "app")
	st.commit.run([]*writeReq{a, unknown})
	for _, r := range []*writeReq{a, unknown} {
		if err := <-r.done; err != nil {
			t.Errorf("%s: %v", r.upd.id, err)
		}
	}
	if want := map[string]int{"rt-a won": 1, "rt-unknown": 1}; !maps.Equal(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}

	// rt-b's successor names an unknown client: the statement fails, and
	// the transaction path then fails that write alone.
	if err := st.CreateTokens(ctx, storage.TokenSet{Refresh: &storage.RefreshToken{ID: "rt-b", FamilyID: "fam-b", ClientID: "app",
		Owner: owner, IssuedAt: now}}); err != nil {
		t.Fatal(err)
	}
	clear(ran)
	good, bad := req("rt-a-next", "app"), req("rt-b", "nobody")
	st.commit.run([]*writeReq{good, bad})
	if err := <-good.done; err != nil {
		t.Errorf("the good write of a failed statement: %v", err)
	}
	if err := <-bad.done; err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the write with an unknown client: %v, want its foreign key failure", err)
	}
	// won may run in an attempt that is then rolled back; what stands is
	// in the database.
	if r, err := st.GetRefreshToken(ctx, "rt-a-next"); err != nil || r.SuccessorID != "rt-a-next-next" || ran["rt-a-next won"] == 0 {
		t.Errorf("the good write: %+v, %v, ran %v", r, err, ran)
	}
	if _, err := st.GetRefreshToken(ctx, "rt-a-next-next"); err != nil {
		t.Errorf("the good write's successor: %v", err)
	}
	if r, err := st.GetRefreshToken(ctx, "rt-b"); err != nil || !r.RotatedAt.IsZero() {
		t.Errorf("the failed write's token: %+v, %v; want it not rotated", r, err)
	}
}
