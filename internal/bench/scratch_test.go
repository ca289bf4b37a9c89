package bench

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// TestScratchDBWhenNamedIsMissing: --db naming a database that does not
// exist still gets a scratch database on that server (created from the
// maintenance database), usable and dropped afterwards; the named one is
// not created.
func TestScratchDBWhenNamedIsMissing(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/latchkey_bench_absent"
	u.RawQuery = "sslmode=disable"
	ctx := context.Background()
	dsn, kind, drop, err := scratchDB(ctx, u.String(), t.TempDir())
	if err != nil {
		t.Fatalf("scratch database beside a missing one: %v", err)
	}
	if kind != "postgres" {
		t.Fatalf("kind %q", kind)
	}
	scratch, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	var name string
	if err := scratch.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		drop()
		t.Fatalf("connect to the scratch database: %v", err)
	}
	scratch.Close()
	drop()

	maint := *u
	maint.Path = "/postgres"
	db, err := sql.Open("pgx", maint.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, n := range []string{name, "latchkey_bench_absent"} {
		var exists bool
		if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", n).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Errorf("database %s exists after the bench", n)
		}
	}
}

// TestScenarioSplitsWorkersOverNodes: with several nodes, worker w's
// requests go to node w modulo their number.
func TestScenarioSplitsWorkersOverNodes(t *testing.T) {
	s, err := newScenario(context.Background(), "client_credentials", []string{"http://a.example", "http://b.example"}, nil, nil, 4, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for w, want := range []string{"a.example", "b.example", "a.example", "b.example"} {
		if got := s.next(w).URL.Host; got != want {
			t.Errorf("worker %d went to %s, want %s", w, got, want)
		}
	}
}
