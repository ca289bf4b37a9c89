package janitor_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/janitor"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

func TestRunDeletesExpiredRows(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateClient(ctx, storage.Client{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, tok := range []storage.AccessToken{
		{ID: "expired", FamilyID: "f1", ClientID: "c", IssuedAt: old, ExpiresAt: old.Add(time.Minute)},
		{ID: "live", FamilyID: "f2", ClientID: "c", IssuedAt: old, ExpiresAt: time.Now().Add(time.Hour)},
	} {
		if err := st.CreateTokens(ctx, storage.TokenSet{Access: &tok}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { janitor.Run(ctx, st, 5*time.Millisecond, time.Hour, 0, log); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := st.GetAccessToken(ctx, "expired"); errors.Is(err, storage.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the janitor did not delete the expired token")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := st.GetAccessToken(ctx, "live"); err != nil {
		t.Fatalf("live token: %v", err)
	}
	cancel()
	<-done
}

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"),
		sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSweepAuditKeepsTheRetention(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, e := range []storage.AuditEvent{
		{ID: "ev_1", Time: now.Add(-100 * day), Type: "old"},
		{ID: "ev_2", Time: now.Add(-91 * day), Type: "old"},
		{ID: "ev_3", Time: now.Add(-89 * day), Type: "kept"},
		{ID: "ev_4", Time: now, Type: "kept"},
	} {
		if err := st.AppendAuditEvents(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	if n := janitor.SweepAudit(ctx, st, now, 0, log); n != 0 {
		t.Fatalf("retention 0 deleted %d events, want none", n)
	}
	if n := janitor.SweepAudit(ctx, st, now, 90*day, log); n != 2 {
		t.Fatalf("deleted %d events, want 2", n)
	}
	evs, err := st.ListAuditEvents(ctx, storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ID != "ev_3" || evs[1].ID != "ev_4" {
		t.Fatalf("kept %+v, want ev_3 and ev_4", evs)
	}
}

// auditSpy tells when the janitor asked to delete audit events, and before when.
type auditSpy struct {
	*sqlstore.Store
	before chan time.Time
}

func (s auditSpy) DeleteAuditEventsBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.Store.DeleteAuditEventsBefore(ctx, before)
	select {
	case s.before <- before:
	default:
	}
	return n, err
}

func TestRunDeletesOldAuditEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(t)
	old := storage.AuditEvent{ID: "ev_old", Time: time.Now().Add(-48 * time.Hour), Type: "old"}
	fresh := storage.AuditEvent{ID: "ev_new", Time: time.Now(), Type: "new"}
	if err := st.AppendAuditEvents(ctx, old, fresh); err != nil {
		t.Fatal(err)
	}
	spy := auditSpy{Store: st, before: make(chan time.Time, 1)}
	done := make(chan struct{})
	started := time.Now()
	go func() {
		janitor.Run(ctx, spy, time.Millisecond, time.Hour, 24*time.Hour, slog.New(slog.DiscardHandler))
		close(done)
	}()
	before := <-spy.before
	if lo, hi := started.Add(-24*time.Hour), time.Now().Add(-24*time.Hour); before.Before(lo) || before.After(hi) {
		t.Fatalf("deleted events before %v, want between %v and %v", before, lo, hi)
	}
	cancel()
	<-done
	evs, err := st.ListAuditEvents(context.Background(), storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "ev_new" {
		t.Fatalf("kept %+v, want only ev_new", evs)
	}
}
