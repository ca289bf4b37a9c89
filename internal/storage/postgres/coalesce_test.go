package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestCoalescedReadPastDeadline: reads of one existing token share
// statements (sqlstore/lookups.go); those whose deadline has already passed
// fail with a deadline error, never "not found" (which would make the core
// answer invalid_grant for a good token), and the others get the token.
func TestCoalescedReadPastDeadline(t *testing.T) {
	ctx := context.Background()
	st := openWithClient(t, pgtest.DSN(t))
	tok := storage.AccessToken{ID: "at-coalesced", ClientID: "app", Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"},
		IssuedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := st.CreateTokens(ctx, storage.TokenSet{Access: &tok}); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()

	const readers = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, readers)
	for i := range readers {
		wg.Go(func() {
			<-start
			c := ctx
			if i%2 == 0 {
				c = expired
			}
			got, err := st.GetAccessToken(c, tok.ID)
			switch {
			case i%2 == 0 && errors.Is(err, storage.ErrNotFound):
				errs[i] = errors.New("read past its deadline answered not found")
			case i%2 == 0 && !errors.Is(err, context.DeadlineExceeded):
				errs[i] = errors.New("read past its deadline: " + errText(err) + ", want a deadline error")
			case i%2 == 1 && (err != nil || got.ID != tok.ID):
				errs[i] = errors.New("live read: " + errText(err))
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("reader %d: %v", i, err)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// openWithClient opens the store at dsn with a client "app" to issue tokens to.
func openWithClient(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateClient(ctx, storage.Client{ID: "app", Name: "App", GrantTypes: []string{"client_credentials"},
		AccessTokenFormat: "opaque", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return st
}
