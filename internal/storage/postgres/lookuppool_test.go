package postgres

import (
	"context"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestLookupPoolPlansOnce: a statement prepared on the lookup pool's
// connections is planned once and the plan reused (see lookupSettings),
// even for an array whose size the planner would rather plan for.
func TestLookupPoolPlansOnce(t *testing.T) {
	ctx := context.Background()
	db, err := openLookupPool(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
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
