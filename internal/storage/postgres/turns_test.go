package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestStuckBatchIsPassedBy: the group-commit writers take turns
// (sqlstore/commit.go, handoff), and one whose batch is stuck, here behind a
// row lock another transaction holds, passes the turn on: a write queued
// after it is stored while the stuck one still waits. With a single writer
// it would wait for the stuck batch's deadline and be answered after it.
func TestStuckBatchIsPassedBy(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	st := openWithClient(t, dsn)
	now := time.Now().UTC().Truncate(time.Millisecond)
	owner := storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}
	if err := st.CreateTokens(ctx, storage.TokenSet{
		Access:  &storage.AccessToken{ID: "stuck-at", ClientID: "app", Owner: owner, IssuedAt: now},
		Refresh: &storage.RefreshToken{ID: "stuck", FamilyID: "fam-stuck", ClientID: "app", Owner: owner, AccessTokenID: "stuck-at", IssuedAt: now},
	}); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	var holder int
	if err := lock.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM refresh_tokens WHERE id = 'stuck' FOR UPDATE`).Scan(&holder); err != nil {
		t.Fatal(err)
	}

	rotated := make(chan error, 1)
	go func() {
		_, err := st.RotateRefreshToken(ctx, storage.Rotation{OldID: "stuck", Now: now,
			Access:  storage.AccessToken{ID: "stuck-next-at", ClientID: "app", Owner: owner, IssuedAt: now},
			Refresh: storage.RefreshToken{ID: "stuck-next", FamilyID: "fam-stuck", ClientID: "app", Owner: owner, AccessTokenID: "stuck-next-at", IssuedAt: now}})
		rotated <- err
	}()
	// The rotation's batch is stuck once its backend waits for the lock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, holder).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-rotated:
			t.Fatalf("the rotation ended (%v) without waiting for the locked row", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the rotation never waited for the locked row")
		}
		time.Sleep(5 * time.Millisecond)
	}

	other := storage.AccessToken{ID: "passer-by", ClientID: "app", Owner: owner, IssuedAt: now}
	if err := st.CreateTokens(ctx, storage.TokenSet{Access: &other}); err != nil {
		t.Fatalf("a write queued behind the stuck batch: %v", err)
	}
	select {
	case err := <-rotated:
		t.Fatalf("the write behind the stuck batch was answered only after it (the rotation: %v)", err)
	default:
	}
	if _, err := st.GetAccessToken(ctx, other.ID); err != nil {
		t.Errorf("the write that passed the stuck batch is not stored: %v", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	<-rotated // rotated, or cut off by its deadline: either way it has ended
}
