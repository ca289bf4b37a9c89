package conformance

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

func testUpgrade(t *testing.T, reopen Reopener, from int) {
	c := ctx(t)
	open, raw := reopen(t)
	old := open(from)
	f := setup(t, old)
	// Ids as older releases wrote them: a plain hash, no issue-time prefix.
	a := f.tokens("fam-old", "8Jq2kY0VsmR3b0pXy9Lx7c1tQe5nWz4aHfGdUo6iKjM", now)
	gone := f.tokens("fam-gone", "Zr7", now.Add(-48*time.Hour))
	lone := storage.AccessToken{ID: "at-lone", ClientID: f.client.ID,
		Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: f.client.ID}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, old.Close(), "close the old store")
	for _, ts := range []storage.TokenSet{a, gone, {Access: &lone}} {
		insertVersion1Tokens(t, raw, ts)
	}

	s := open(0)
	defer s.Close()
	gotA, err := s.GetAccessToken(c, a.Access.ID)
	must(t, err, "get access token after the upgrade")
	equal(t, gotA, *a.Access, "access token after the upgrade")
	gotR, err := s.GetRefreshToken(c, a.Refresh.ID)
	must(t, err, "get refresh token after the upgrade")
	equal(t, gotR, *a.Refresh, "refresh token after the upgrade")
	gotL, err := s.GetAccessToken(c, lone.ID)
	must(t, err, "get token of no family after the upgrade")
	equal(t, gotL, lone, "token of no family after the upgrade")

	rot := f.rotation(a.Refresh.ID, "new", now.Add(time.Minute), 0)
	rot.Access.FamilyID, rot.Refresh.FamilyID = "fam-old", "fam-old"
	res, err := s.RotateRefreshToken(c, rot)
	must(t, err, "rotate an old refresh token after the upgrade")
	equal(t, res.Outcome, storage.OutcomeRotated, "rotation outcome")
	must(t, s.RevokeFamily(c, "fam-old", now.Add(2*time.Minute), time.Time{}), "revoke the old family")
	equal(t, countLive(t, s, a.Access.ID, a.Refresh.ID, rot.Access.ID, rot.Refresh.ID), 0, "live tokens of the revoked family")
	equal(t, countLive(t, s, lone.ID), 1, "token of no family after family revocation")

	n, err := s.DeleteExpired(c, now.Add(-time.Hour))
	must(t, err, "delete expired after the upgrade")
	equal(t, n, int64(2), "expired rows swept after the upgrade")
	_, err = s.GetRefreshToken(c, gone.Refresh.ID)
	wantErr(t, err, storage.ErrNotFound, "swept refresh token")
}

// testCloseKeepsAnsweredWrites closes a store while writes are still
// queued for the group commit: each write either fails or, if it was
// answered without error, is in the database when it is opened again.
func testCloseKeepsAnsweredWrites(t *testing.T, reopen Reopener) {
	c := ctx(t)
	open, _ := reopen(t)
	s := open(0)
	f := setup(t, s)
	const n = 300
	errs := make([]error, n)
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			started.Done()
			errs[i] = s.CreateTokens(c, f.tokens(fmt.Sprintf("fam-close-%d", i), fmt.Sprintf("close-%d", i), now))
		}()
	}
	started.Wait()
	must(t, s.Close(), "close while writes are queued")
	done.Wait()

	s = open(0)
	defer s.Close()
	answered := 0
	for i, err := range errs {
		if err != nil {
			continue // refused because the store was closing: the caller knows
		}
		answered++
		_, err := s.GetAccessToken(c, fmt.Sprintf("at-close-%d", i))
		must(t, err, fmt.Sprintf("read write %d, answered before Close, after reopening", i))
	}
	t.Logf("%d of %d writes answered before Close, all found after reopening", answered, n)
}

// insertVersion1Tokens writes a token set in the columns of schema version
// 1, which every version up to 6 kept, as releases of those versions did.
func insertVersion1Tokens(t *testing.T, raw *sql.DB, ts storage.TokenSet) {
	t.Helper()
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	account := func(id string) any {
		if id == "" {
			return nil
		}
		return id
	}
	if a := ts.Access; a != nil {
		_, err := raw.ExecContext(ctx(t), `INSERT INTO access_tokens (id, family_id, client_id, account_id, owner_type, owner_id,
			scopes, issued_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.ID, a.FamilyID, a.ClientID, account(a.AccountID), string(a.Owner.Type), a.Owner.ID, strings.Join(a.Scopes, " "),
			ms(a.IssuedAt), ms(a.ExpiresAt), ms(a.RevokedAt))
		must(t, err, "write an access token as an older release did")
	}
	if r := ts.Refresh; r != nil {
		_, err := raw.ExecContext(ctx(t), `INSERT INTO refresh_tokens (id, family_id, client_id, account_id, owner_type, owner_id,
			scopes, access_token_id, issued_at, expires_at, rotated_at, successor_id, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			r.ID, r.FamilyID, r.ClientID, account(r.AccountID), string(r.Owner.Type), r.Owner.ID, strings.Join(r.Scopes, " "),
			r.AccessTokenID, ms(r.IssuedAt), ms(r.ExpiresAt), ms(r.RotatedAt), r.SuccessorID, ms(r.RevokedAt))
		must(t, err, "write a refresh token as an older release did")
	}
}
