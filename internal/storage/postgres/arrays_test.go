package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestTokenBatchesMixingAccounts: the token sets of one group commit go in
// as arrays, a nullable column (the account) as a plain array, an empty one
// or one with NULLs in place, depending on the batch (sqlstore.textColumn).
// Sets with and without an account, written together, read back as
// written, in batches of every mix.
func TestTokenBatchesMixingAccounts(t *testing.T) {
	ctx := context.Background()
	st := openWithClient(t, pgtest.DSN(t))
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.CreateAccount(ctx, storage.Account{ID: "acc-1", Kind: storage.Staff, Username: "mixer", PasswordHash: "h", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	const writers = 64
	for round, withAccount := range []func(int) bool{
		func(int) bool { return true },
		func(i int) bool { return i%2 == 0 },
		func(int) bool { return false },
	} {
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				<-start
				id := fmt.Sprintf("mix-%d-%d", round, i)
				at := storage.AccessToken{ID: id + "-at", ClientID: "app", IssuedAt: now,
					Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: "app"}}
				if withAccount(i) {
					at.AccountID = "acc-1"
				}
				rt := storage.RefreshToken{ID: id, FamilyID: "fam-" + id, ClientID: "app", AccountID: at.AccountID,
					Owner: at.Owner, AccessTokenID: at.ID, IssuedAt: now}
				if err := st.CreateTokens(ctx, storage.TokenSet{Access: &at, Refresh: &rt}); err != nil {
					errs[i] = err
					return
				}
				gotAT, err := st.GetAccessToken(ctx, at.ID)
				if err != nil || gotAT.AccountID != at.AccountID || gotAT.Owner != at.Owner {
					errs[i] = fmt.Errorf("access token read back with account %q owner %v (%v), want %q %v", gotAT.AccountID, gotAT.Owner, err, at.AccountID, at.Owner)
					return
				}
				gotRT, err := st.GetRefreshToken(ctx, rt.ID)
				if err != nil || gotRT.AccountID != rt.AccountID {
					errs[i] = fmt.Errorf("refresh token read back with account %q (%v), want %q", gotRT.AccountID, err, rt.AccountID)
				}
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, writer %d: %v", round, i, err)
			}
		}
	}
}
