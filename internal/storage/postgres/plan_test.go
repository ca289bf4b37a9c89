package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestBatchedRotationUsesTheKeyAfterGrowth: the group commit's batched
// rotation (sqlstore/batched.go) found its rows by a sequential scan for
// good once its plan had been made on a small table, as on a new database:
// PostgreSQL keeps a prepared statement's generic plan for the connection's
// life, and refreshes then slowed with every token issued. Rotations made
// after the table has grown must look their rows up by key, also on
// connections without pgx's statement description cache (which some
// PgBouncer set-ups turn off). Each rotation here is a batch of its own,
// so it runs as a combined statement on the planned pool (sqlstore's
// combinedStatement); the batched update planned for each batch, which
// batches holding other writes make, is covered by the conformance suite,
// though not after growth.
func TestBatchedRotationUsesTheKeyAfterGrowth(t *testing.T) {
	for _, extra := range []string{"", "&description_cache_capacity=0"} {
		t.Run("dsn"+extra, func(t *testing.T) { testRotationAfterGrowth(t, pgtest.DSN(t)+extra) })
	}
}

func testRotationAfterGrowth(t *testing.T, dsn string) {
	ctx := context.Background()
	st := openWithClient(t, dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	now := time.Now().UTC().Truncate(time.Millisecond)
	owner := storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}
	issue := func(prefix string, n int) []string {
		t.Helper()
		ids := make([]string, n)
		for i := range n {
			ids[i] = fmt.Sprintf("%s-%06d", prefix, i)
			if err := st.CreateTokens(ctx, storage.TokenSet{
				Access:  &storage.AccessToken{ID: ids[i] + "-at", ClientID: "app", Owner: owner, IssuedAt: now},
				Refresh: &storage.RefreshToken{ID: ids[i], FamilyID: "fam-" + ids[i], ClientID: "app", Owner: owner, AccessTokenID: ids[i] + "-at", IssuedAt: now},
			}); err != nil {
				t.Fatal(err)
			}
		}
		return ids
	}
	rotate := func(ids []string) {
		t.Helper()
		for _, id := range ids { // one at a time: each is a batch of its own
			res, err := st.RotateRefreshToken(ctx, storage.Rotation{OldID: id, Now: now,
				Access:  storage.AccessToken{ID: id + "-next-at", ClientID: "app", Owner: owner, IssuedAt: now},
				Refresh: storage.RefreshToken{ID: id + "-next", FamilyID: "fam-" + id, ClientID: "app", Owner: owner, AccessTokenID: id + "-next-at", IssuedAt: now}})
			if err != nil || res.Outcome != storage.OutcomeRotated {
				t.Fatalf("rotate %s: %v, outcome %v", id, err, res.Outcome)
			}
		}
	}
	// scans waits until the table statistics count at least want scans of
	// refresh_tokens, and returns how many of them were sequential. A
	// server publishes a connection's counts at most once a second, after
	// a transaction, so each poll also gives the writers a transaction.
	polls := 0
	scans := func(want int64) int64 {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var seq, idx int64
			err := db.QueryRowContext(ctx, `SELECT COALESCE(seq_scan, 0), COALESCE(idx_scan, 0) FROM pg_stat_user_tables
				WHERE schemaname = current_schema() AND relname = 'refresh_tokens'`).Scan(&seq, &idx)
			if err != nil {
				t.Fatal(err)
			}
			if seq+idx >= want {
				return seq
			}
			if time.Now().After(deadline) {
				t.Fatalf("the statistics counted %d scans of refresh_tokens, want %d", seq+idx, want)
			}
			polls++
			tick := storage.AccessToken{ID: fmt.Sprintf("tick-%d", polls), ClientID: "app", Owner: owner, IssuedAt: now}
			if err := st.CreateTokens(ctx, storage.TokenSet{Access: &tick}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Enough rotations on a table of a few rows that every writer
	// connection has executed the statement more than the five times after
	// which PostgreSQL may settle on a generic plan.
	const early, late = 24, 12
	rotate(issue("small", early))
	seqBefore := scans(early)

	// The table grows as a busy server's would, written around the store
	// for speed.
	if _, err := db.ExecContext(ctx, `INSERT INTO refresh_tokens (id, family_id, client_id, owner_type, owner_id, scopes,
		access_token_id, issued_at, expires_at, rotated_at, successor_id, revoked_at)
		SELECT 'bulk-' || g, 'fam-bulk-' || g, 'app', 'client', 'app', '', '', 0, 0, 0, '', 0 FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	rotate(issue("grown", late))
	if seq := scans(early+late) - seqBefore; seq > 0 {
		t.Errorf("%d of %d rotations on a table of 20,000 tokens scanned it sequentially", seq, late)
	}
}
