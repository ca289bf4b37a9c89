package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestPlannedPoolPlansOnce: a statement prepared on the planned pool's
// connections is planned once and the plan reused (see plannedSettings),
// even for an array whose size the planner would rather plan for.
func TestPlannedPoolPlansOnce(t *testing.T) {
	ctx := context.Background()
	conn := plannedConn(t, pgtest.DSN(t))
	var mode, seqscan string
	if err := conn.QueryRowContext(ctx, `SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan')`).Scan(&mode, &seqscan); err != nil {
		t.Fatal(err)
	}
	if mode != "force_generic_plan" || seqscan != "off" {
		t.Fatalf("plan_cache_mode %q, enable_seqscan %q; want force_generic_plan, off", mode, seqscan)
	}
	const q = `SELECT count(*) FROM unnest($1::text[]) AS q(id) JOIN pg_class c ON c.relname = q.id`
	stmt, err := conn.PrepareContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for i := range 8 {
		ids := make([]string, i+1)
		for j := range ids {
			ids[j] = "pg_class"
		}
		var n int
		if err := stmt.QueryRowContext(ctx, ids).Scan(&n); err != nil || n != len(ids) {
			t.Fatalf("execution %d: %d rows, %v", i, n, err)
		}
	}
	var generic, custom int64
	if err := conn.QueryRowContext(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1`, q).Scan(&generic, &custom); err != nil {
		t.Fatal(err)
	}
	if custom != 0 || generic != 8 {
		t.Errorf("%d generic and %d custom plans for 8 executions; want 8 generic", generic, custom)
	}
}

// TestPlannedPoolRefused: a server that refuses the settings (PgBouncer
// refuses startup parameters it does not know) leaves no planned pool, the
// reads then share the main one, and the reason is logged.
func TestPlannedPoolRefused(t *testing.T) {
	var logs bytes.Buffer
	db, err := openPlannedPool(context.Background(), pgtest.DSN(t), map[string]string{"plan_cache_mode": "no_such_mode"},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || db != nil {
		t.Fatalf("planned pool %v, %v; want none and no error", db, err)
	}
	if !strings.Contains(logs.String(), "refused the session settings") || !strings.Contains(logs.String(), "22023") {
		t.Errorf("logged %q; want the refusal and its code", logs.String())
	}
}

// TestCoalescedReadsUseTheKeyOnSmallTables: the generic plans of the
// coalesced reads, made in the planned pool's sessions on tables the
// statistics know to be small (as autovacuum leaves a new database's),
// look every row up by key, so they stay right as the tables grow. The
// same plans made with sequential scans allowed scan the small tables,
// which shows the check can fail.
func TestCoalescedReadsUseTheKeyOnSmallTables(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	st, err := Open(ctx, dsn, sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.CreateClient(ctx, storage.Client{ID: "app", Name: "App", GrantTypes: []string{"client_credentials"},
		AccessTokenFormat: "opaque", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	owner := storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}
	for i := range 6 {
		id := fmt.Sprintf("small-%d", i)
		acc := storage.Account{ID: "acc-" + id, Kind: storage.Staff, Username: "user-" + id, PasswordHash: "x", CreatedAt: now}
		if err := st.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
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
	conn := plannedConn(t, dsn)
	if _, err := conn.ExecContext(ctx, `ANALYZE access_tokens, refresh_tokens, auth_codes, accounts, revoked_families`); err != nil {
		t.Fatal(err)
	}
	// plans returns the generic plan of each coalesced read, made now.
	plans := func(prefix string) []string {
		t.Helper()
		var out []string
		for i, q := range sqlstore.CoalescedReads(flavor{}) {
			name := fmt.Sprintf("%s%d", prefix, i)
			if _, err := conn.ExecContext(ctx, `PREPARE `+name+` AS `+q); err != nil {
				t.Fatalf("prepare %s: %v", q, err)
			}
			rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE `+name+`('{small-1-at,small-2-rt,small-3-code}')`)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			out = append(out, strings.Join(plan, "\n"))
		}
		return out
	}
	for _, p := range plans("lk") {
		if strings.Contains(p, "Seq Scan") || !strings.Contains(p, "Index") {
			t.Errorf("a coalesced read planned on small tables scans one:\n%s", p)
		}
	}
	if _, err := conn.ExecContext(ctx, `SET enable_seqscan = on`); err != nil {
		t.Fatal(err)
	}
	seq := 0
	for _, p := range plans("seq") {
		if strings.Contains(p, "Seq Scan") {
			seq++
		}
	}
	if seq == 0 {
		t.Error("with sequential scans allowed, no plan made on the small tables scanned one: the check above proves nothing")
	}
}

// plannedConn is a connection of a planned pool opened on dsn, which it
// checks is bounded to 8 connections (docs/OPERATIONS.md counts on it).
func plannedConn(t *testing.T, dsn string) *sql.Conn {
	t.Helper()
	pool, err := openPlannedPool(context.Background(), dsn, plannedSettings, slog.New(slog.DiscardHandler))
	if err != nil || pool == nil {
		t.Fatalf("planned pool %v, %v", pool, err)
	}
	t.Cleanup(func() { pool.Close() })
	if n := pool.Stats().MaxOpenConnections; n != 8 {
		t.Fatalf("the planned pool opens up to %d connections; the docs say 8", n)
	}
	conn, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestPlannedPoolLeavesOtherFailures: a failure that is not a refused
// setting (here a database that does not exist) keeps the pool and logs
// nothing: the main pool's own check reports it, and a server that was only
// down at start serves the pool once it is back.
func TestPlannedPoolLeavesOtherFailures(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/latchkey_no_such_database"
	var logs bytes.Buffer
	db, err := openPlannedPool(context.Background(), u.String(), plannedSettings, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || db == nil {
		t.Fatalf("planned pool %v, %v; want a pool and no error", db, err)
	}
	db.Close()
	if logs.Len() != 0 {
		t.Errorf("logged %q; want nothing", logs.String())
	}
}
