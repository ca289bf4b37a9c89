package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestCoalescedReadsUseTheKeyAfterGrowth: the coalesced reads (access
// tokens, refresh and code grants with their accounts) run with generic
// plans made once per connection. Plans made while the tables held a few
// rows, as on a new database, must still find rows by key once the tables
// have grown: none of the reads may scan a table sequentially.
func TestCoalescedReadsUseTheKeyAfterGrowth(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	st := openWithClient(t, dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	now := time.Now().UTC().Truncate(time.Millisecond)
	create := func(prefix string, n int) []string {
		t.Helper()
		ids := make([]string, n)
		for i := range n {
			id := fmt.Sprintf("%s-%03d", prefix, i)
			ids[i] = id
			acc := storage.Account{ID: "acc-" + id, Kind: storage.Staff, Username: "user-" + id, PasswordHash: "x", CreatedAt: now}
			if err := st.CreateAccount(ctx, acc); err != nil {
				t.Fatal(err)
			}
			owner := storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}
			if err := st.CreateTokens(ctx, storage.TokenSet{
				Access:  &storage.AccessToken{ID: id + "-at", FamilyID: "fam-" + id, ClientID: "app", AccountID: acc.ID, Owner: owner, IssuedAt: now},
				Refresh: &storage.RefreshToken{ID: id + "-rt", FamilyID: "fam-" + id, ClientID: "app", AccountID: acc.ID, Owner: owner, AccessTokenID: id + "-at", IssuedAt: now},
			}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateAuthCode(ctx, storage.AuthCode{ID: id + "-code", ClientID: "app", AccountID: acc.ID, Owner: owner,
				RedirectURI: "https://app.example/cb", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		return ids
	}
	// read reads every kind of row of ids, with workers reads at once, so
	// that several connections of the pool make their plans.
	read := func(ids []string, workers int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, workers*len(ids)*3)
		for range workers {
			wg.Go(func() {
				for _, id := range ids {
					if _, err := st.GetAccessToken(ctx, id+"-at"); err != nil {
						errs <- fmt.Errorf("access token %s: %w", id, err)
					}
					if _, a, err := st.GetRefreshGrant(ctx, id+"-rt"); err != nil || a == nil || a.ID != "acc-"+id {
						errs <- fmt.Errorf("refresh grant %s: account %v, %v", id, a, err)
					}
					if _, a, err := st.GetAuthCodeGrant(ctx, id+"-code"); err != nil || a == nil || a.ID != "acc-"+id {
						errs <- fmt.Errorf("code grant %s: account %v, %v", id, a, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	tables := []string{"access_tokens", "refresh_tokens", "auth_codes", "accounts"}
	// counts waits until the statistics count at least want scans of every
	// table, then returns each table's sequential and index scans. A
	// server publishes a connection's counts at most once a second, after a
	// transaction, so each poll reads again.
	counts := func(want map[string]int64, again []string) (seqs, idxs map[string]int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			seq, idx := map[string]int64{}, map[string]int64{}
			rows, err := db.QueryContext(ctx, `SELECT relname, COALESCE(seq_scan, 0), COALESCE(idx_scan, 0) FROM pg_stat_user_tables
				WHERE schemaname = current_schema()`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var name string
				var s, i int64
				if err := rows.Scan(&name, &s, &i); err != nil {
					t.Fatal(err)
				}
				seq[name], idx[name] = s, i
			}
			rows.Close()
			done := true
			for _, tb := range tables {
				done = done && seq[tb]+idx[tb] >= want[tb]
			}
			if done {
				return seq, idx
			}
			if time.Now().After(deadline) {
				t.Fatalf("the statistics counted index scans %v and sequential scans %v, want at least %v together", idx, seq, want)
			}
			read(again, 1)
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Plans made on tables the statistics know to be small, as autovacuum
	// leaves a new database's.
	small := create("small", 6)
	if _, err := db.ExecContext(ctx, `ANALYZE access_tokens, refresh_tokens, auth_codes, accounts`); err != nil {
		t.Fatal(err)
	}
	read(small, 8)

	// The tables grow as a busy server's would, written around the store
	// for speed.
	for _, q := range []string{
		`INSERT INTO accounts (id, kind, realm, username, username_key, password_hash, printed_card_number, disabled, created_at)
			SELECT 'acc-bulk-' || g, 'staff', '', 'bulk-' || g, 'bulk-' || g, 'x', '', false, 0 FROM generate_series(1, 20000) g`,
		`INSERT INTO access_tokens (id, family_id, client_id, account_id, owner_type, owner_id, scopes, issued_at, expires_at, revoked_at)
			SELECT 'bulk-at-' || g, 'fam-bulk-' || g, 'app', 'acc-bulk-' || g, 'client', 'app', '', 0, 0, 0 FROM generate_series(1, 20000) g`,
		`INSERT INTO refresh_tokens (id, family_id, client_id, account_id, owner_type, owner_id, scopes,
			access_token_id, issued_at, expires_at, rotated_at, successor_id, revoked_at)
			SELECT 'bulk-rt-' || g, 'fam-bulk-' || g, 'app', 'acc-bulk-' || g, 'client', 'app', '', '', 0, 0, 0, '', 0 FROM generate_series(1, 20000) g`,
		`INSERT INTO auth_codes (id, client_id, account_id, owner_type, owner_id, scopes, redirect_uri, code_challenge,
			code_challenge_method, nonce, auth_time, created_at, expires_at, used_at)
			SELECT 'bulk-code-' || g, 'app', 'acc-bulk-' || g, 'client', 'app', '', 'https://app.example/cb', '', '', '', 0, 0, 0, 0
			FROM generate_series(1, 20000) g`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	grown := create("grown", 6)
	before, idx := counts(map[string]int64{}, nil)
	read(append(small, grown...), 8)
	want := map[string]int64{}
	for _, tb := range tables {
		want[tb] = before[tb] + idx[tb] + int64(len(small)+len(grown)) // each read looks its row up once at least
	}
	after, _ := counts(want, grown)
	for _, tb := range tables {
		if d := after[tb] - before[tb]; d > 0 {
			t.Errorf("reads of tables of 20,000 rows scanned %s sequentially %d times", tb, d)
		}
	}
}
