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
	go func() { janitor.Run(ctx, st, 5*time.Millisecond, time.Hour, log); close(done) }()
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
