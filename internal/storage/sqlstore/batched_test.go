package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the driver of the SQLite the test writes to
)

// TestBatchedUpdatesInJSON: on SQLite the batch's rotations and code
// redemptions go as one statement over a JSON array (updateKind.jsonQuery).
// The rows it can change must be marked hit, so their writes take the
// batched path, and the others not, so theirs run their own statement:
// an update that silently matched nothing would still be correct, only
// slower, and no other test would see it.
func TestBatchedUpdatesInJSON(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE accounts (id TEXT PRIMARY KEY, tokens_revoked_at BIGINT NOT NULL)`,
		`CREATE TABLE revoked_families (id TEXT PRIMARY KEY, revoked_at BIGINT NOT NULL)`,
		`CREATE TABLE refresh_tokens (id TEXT PRIMARY KEY, family_id TEXT NOT NULL, account_id TEXT, account_epoch BIGINT NOT NULL,
			expires_at BIGINT NOT NULL, rotated_at BIGINT NOT NULL, successor_id TEXT NOT NULL, revoked_at BIGINT NOT NULL)`,
		`CREATE TABLE auth_codes (id TEXT PRIMARY KEY, expires_at BIGINT NOT NULL, used_at BIGINT NOT NULL)`,
		`INSERT INTO accounts VALUES ('acc-same', 0), ('acc-revoked', 7)`,
		`INSERT INTO refresh_tokens VALUES ('rt-live', 'fam-1', NULL, 0, 0, 0, '', 0), ('rt-used', 'fam-2', NULL, 0, 0, 5, 'x', 0),
			('rt-gone-family', 'fam-3', NULL, 0, 0, 0, '', 0), ('rt "quoted"', 'fam-4', NULL, 0, 0, 0, '', 0),
			('rt-revoked', 'fam-5', NULL, 0, 0, 0, '', 3), ('rt-expired', 'fam-6', NULL, 0, 900, 0, '', 0),
			('rt-live-account', 'fam-7', 'acc-same', 0, 5000, 0, '', 0), ('rt-revoked-account', 'fam-8', 'acc-revoked', 0, 0, 0, '', 0),
			('rt-twice', 'fam-9', NULL, 0, 0, 0, '', 0)`,
		`INSERT INTO revoked_families VALUES ('fam-3', 9)`,
		`INSERT INTO auth_codes VALUES ('code-live', 2000, 0), ('code-expired', 500, 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cases := []struct {
		id  string
		hit bool
	}{
		{"rt-live", true}, {"rt-used", false}, {"rt-gone-family", false}, {`rt "quoted"`, true}, {"rt-unknown", false},
		{"rt-revoked", false}, {"rt-expired", false}, {"rt-live-account", true}, {"rt-revoked-account", false},
		// The same token twice in one batch: the first write changes it,
		// the second is left to its own path, which finds it changed.
		{"rt-twice", true}, {"rt-twice", false},
		{"code-live", true}, {"code-expired", false},
	}
	reqs := []*writeReq{}
	for _, c := range cases {
		kind := rotateKind
		if c.id[:4] == "code" {
			kind = redeemKind
		}
		reqs = append(reqs, &writeReq{upd: &keyedUpdate{kind: kind, id: c.id, now: 1000, to: c.id + "-next"}})
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	w := &wtx{Tx: tx, stmts: &stmtCache{db: db, rebind: AnonymousPlaceholders}}
	if err := w.runUpdates(ctx, reqs, nil); err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		if r.upd.hit != cases[i].hit {
			t.Errorf("write %d, %s: hit %v, want %v", i, r.upd.id, r.upd.hit, cases[i].hit)
		}
	}
	var succ string
	var rotated int64
	if err := tx.QueryRowContext(ctx, `SELECT rotated_at, successor_id FROM refresh_tokens WHERE id = 'rt "quoted"'`).Scan(&rotated, &succ); err != nil {
		t.Fatal(err)
	}
	if rotated != 1000 || succ != `rt "quoted"-next` {
		t.Errorf("rotated token: rotated_at %d, successor %q", rotated, succ)
	}
}

func TestRenumber(t *testing.T) {
	if got := renumber(`a = $1 AND b = $2 OR c IN ($10, $3)`, 4); got != `a = $5 AND b = $6 OR c IN ($14, $7)` {
		t.Errorf("renumber: %s", got)
	}
}
