package conformance

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

func (f fixture) code(id string, expires time.Time) storage.AuthCode {
	return storage.AuthCode{ID: id, ClientID: f.client.ID, AccountID: f.guest.ID,
		Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "777777"}, Scopes: []string{"user_read", "user_write"},
		RedirectURI: "https://app.example/cb", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Nonce: "n", AuthTime: now, CreatedAt: now, ExpiresAt: expires}
}

// testAuthCodeRedeemedOnce: of many concurrent redemptions exactly one wins,
// and only the winner's tokens are stored.
func testAuthCodeRedeemedOnce(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	code := f.code("code-1", now.Add(5*time.Minute))
	must(t, s.CreateAuthCode(c, code), "create code")
	got, err := s.GetAuthCode(c, code.ID)
	must(t, err, "get code")
	equal(t, got, code, "code round-trips")

	errs := together(workers, func(i int) error {
		return s.RedeemAuthCode(c, code.ID, now.Add(time.Second), f.tokens(code.ID, fmt.Sprint("code-", i), now))
	})
	winner := exactlyOne(t, errs, "redeem code", storage.ErrAlreadyUsed)
	for i := range errs {
		_, err := s.GetAccessToken(c, fmt.Sprint("at-code-", i))
		if i == winner {
			must(t, err, "winner's access token stored")
		} else {
			wantErr(t, err, storage.ErrNotFound, "loser's access token")
		}
	}
	got, err = s.GetAuthCode(c, code.ID)
	must(t, err, "get used code")
	equal(t, got.UsedAt, now.Add(time.Second), "used at")

	// A replayed code lets the caller revoke what was issued from it: the family is the code.
	must(t, s.RevokeFamily(c, code.ID, now.Add(2*time.Second), time.Time{}), "revoke tokens issued from the code")
	equal(t, countLive(t, s, fmt.Sprint("at-code-", winner), fmt.Sprint("rt-code-", winner)), 0, "live tokens after revocation")
}

func testAuthCodeExpiryAndUnknown(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateAuthCode(c, f.code("old", now.Add(time.Minute))), "create code")
	wantErr(t, s.RedeemAuthCode(c, "old", now.Add(time.Minute), f.tokens("old", "x", now)), storage.ErrExpired, "redeem at expiry")
	_, err := s.GetAccessToken(c, "at-x")
	wantErr(t, err, storage.ErrNotFound, "no token for an expired code")
	wantErr(t, s.RedeemAuthCode(c, "nope", now, f.tokens("nope", "y", now)), storage.ErrNotFound, "redeem unknown code")
	_, err = s.GetAuthCode(c, "nope")
	wantErr(t, err, storage.ErrNotFound, "get unknown code")
	wantErr(t, s.CreateAuthCode(c, f.code("old", now)), storage.ErrAlreadyExists, "duplicate code")
}

func testTokensAndRevocation(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	a, b := f.tokens("fam-a", "a", now), f.tokens("fam-b", "b", now)
	must(t, s.CreateTokens(c, a), "create family a")
	must(t, s.CreateTokens(c, b), "create family b")
	never := storage.AccessToken{ID: "at-never", FamilyID: "fam-c", ClientID: f.client.ID,
		Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: f.client.ID}, IssuedAt: now}
	must(t, s.CreateTokens(c, storage.TokenSet{Access: &never}), "create client token without expiry")

	gotA, err := s.GetAccessToken(c, a.Access.ID)
	must(t, err, "get access token")
	equal(t, gotA, *a.Access, "access token")
	gotR, err := s.GetRefreshToken(c, a.Refresh.ID)
	must(t, err, "get refresh token")
	equal(t, gotR, *a.Refresh, "refresh token")
	gotN, err := s.GetAccessToken(c, never.ID)
	must(t, err, "get never-expiring")
	equal(t, gotN, never, "never-expiring token keeps zero expiry and no account")
	wantErr(t, s.CreateTokens(c, a), storage.ErrAlreadyExists, "duplicate token id")

	must(t, s.RevokeFamily(c, "fam-a", now.Add(time.Minute), now.Add(time.Hour)), "revoke family a")
	equal(t, countLive(t, s, a.Access.ID, a.Refresh.ID), 0, "family a live tokens")
	equal(t, countLive(t, s, b.Access.ID, b.Refresh.ID), 2, "family b untouched")
	gotA, _ = s.GetAccessToken(c, a.Access.ID)
	equal(t, gotA.RevokedAt, now.Add(time.Minute), "revoked at")
	// Revoking again keeps the first time; a token of the family stored
	// after the revocation (a rotation that raced it) is revoked too.
	must(t, s.RevokeFamily(c, "fam-a", now.Add(2*time.Minute), now.Add(time.Hour)), "revoke family a again")
	late := f.tokens("fam-a", "a-late", now.Add(3*time.Minute))
	must(t, s.CreateTokens(c, late), "store a token of the revoked family")
	equal(t, countLive(t, s, late.Access.ID, late.Refresh.ID), 0, "late tokens of the revoked family")
	gotR, _ = s.GetRefreshToken(c, late.Refresh.ID)
	equal(t, gotR.RevokedAt, now.Add(time.Minute), "late token revoked at the first revocation")
	// A refresh token of a revoked family is not rotated, and stores nothing.
	rot := f.rotation(a.Refresh.ID, "a-succ", now.Add(4*time.Minute), 0)
	rot.Access.FamilyID, rot.Refresh.FamilyID = "fam-a", "fam-a"
	_, err = s.RotateRefreshToken(c, rot)
	wantErr(t, err, storage.ErrRevoked, "rotate a token of a revoked family")
	_, err = s.GetRefreshToken(c, rot.Refresh.ID)
	wantErr(t, err, storage.ErrNotFound, "successor of a token of a revoked family")

	must(t, s.RevokeAccessToken(c, b.Access.ID, now), "revoke one access token")
	equal(t, countLive(t, s, b.Access.ID, b.Refresh.ID), 1, "family b after access revocation")
	must(t, s.RevokeRefreshToken(c, b.Refresh.ID, now), "revoke one refresh token")
	equal(t, countLive(t, s, b.Refresh.ID), 0, "refresh revoked")
	wantErr(t, s.RevokeAccessToken(c, "nope", now), storage.ErrNotFound, "revoke unknown")

	// Tokens of no family (client_credentials) are untouched by family
	// revocation, even of the empty family, and are revoked one by one.
	loners := make([]string, 3)
	for i := range loners {
		loners[i] = fmt.Sprintf("at-loner-%d", i)
		lone := storage.AccessToken{ID: loners[i], ClientID: f.client.ID,
			Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: f.client.ID}, IssuedAt: now}
		must(t, s.CreateTokens(c, storage.TokenSet{Access: &lone}), "create token of no family")
	}
	must(t, s.RevokeFamily(c, "", now, time.Time{}), "revoke the empty family")
	equal(t, countLive(t, s, loners...), 3, "tokens of no family after revoking the empty family")
	must(t, s.RevokeAccessToken(c, loners[0], now), "revoke a token of no family")
	equal(t, countLive(t, s, loners...), 2, "tokens of no family after revoking one")
}

// rotation returns the successor pair for rotating old in family.
func (f fixture) rotation(old, suffix string, at time.Time, grace time.Duration) storage.Rotation {
	ts := f.tokens("fam", suffix, at)
	return storage.Rotation{OldID: old, Access: *ts.Access, Refresh: *ts.Refresh, Now: at, Grace: grace}
}

// testRefreshRotatedOnce: without a grace window, of many concurrent
// rotations exactly one succeeds and the others, being replays, revoke the family.
func testRefreshRotatedOnce(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateTokens(c, f.tokens("fam", "0", now)), "create tokens")
	at := now.Add(time.Minute)
	var results [workers]storage.RotationResult
	errs := together(workers, func(i int) error {
		var err error
		results[i], err = s.RotateRefreshToken(c, f.rotation("rt-0", fmt.Sprint("r", i), at, 0))
		return err
	})
	winner := exactlyOne(t, errs, "rotate", storage.ErrTokenReused, storage.ErrRevoked)
	equal(t, results[winner].Outcome, storage.OutcomeRotated, "outcome")
	equal(t, results[winner].Old.ID, "rt-0", "old token")
	old, err := s.GetRefreshToken(c, "rt-0")
	must(t, err, "get old")
	equal(t, old.SuccessorID, fmt.Sprint("rt-r", winner), "successor recorded")
	// The replays revoked the whole family, the winner's new tokens included.
	equal(t, countLive(t, s, "at-0", "rt-0", fmt.Sprint("at-r", winner), fmt.Sprint("rt-r", winner)), 0, "live tokens of family")
	for i := range errs {
		if i != winner {
			_, err := s.GetRefreshToken(c, fmt.Sprint("rt-r", i))
			wantErr(t, err, storage.ErrNotFound, "loser's successor")
		}
	}
}

// testRefreshGraceSameSuccessor: with a grace window, concurrent retries of
// one refresh token all get the same successor and the family stays live.
func testRefreshGraceSameSuccessor(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateTokens(c, f.tokens("fam", "0", now)), "create tokens")
	at := now.Add(time.Minute)
	var results [workers]storage.RotationResult
	errs := together(workers, func(i int) error {
		var err error
		// A deterministic successor, as the core derives it from the old token.
		results[i], err = s.RotateRefreshToken(c, f.rotation("rt-0", "1", at, 10*time.Second))
		return err
	})
	rotated := 0
	for i, err := range errs {
		must(t, err, fmt.Sprint("rotate ", i))
		if results[i].Outcome == storage.OutcomeRotated {
			rotated++
		} else {
			equal(t, results[i].Outcome, storage.OutcomeGrace, "outcome")
		}
		equal(t, results[i].Successor.ID, "rt-1", "successor")
	}
	equal(t, rotated, 1, "rotations")
	equal(t, countLive(t, s, "at-1", "rt-1"), 2, "successor tokens live")

	// After the window a retry is a replay.
	_, err := s.RotateRefreshToken(c, f.rotation("rt-0", "1", at.Add(11*time.Second), 10*time.Second))
	wantErr(t, err, storage.ErrTokenReused, "retry after grace window")
	equal(t, countLive(t, s, "at-1", "rt-1"), 0, "family revoked after late replay")
}

// testRefreshReplayAfterSuccessorUsed: A→B, B→C, then A again is a replay
// even inside the grace window, and revokes C.
func testRefreshReplayAfterSuccessorUsed(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	grace := time.Minute
	must(t, s.CreateTokens(c, f.tokens("fam", "A", now)), "create A")
	_, err := s.RotateRefreshToken(c, f.rotation("rt-A", "B", now.Add(time.Second), grace))
	must(t, err, "rotate A to B")
	res, err := s.RotateRefreshToken(c, f.rotation("rt-B", "C", now.Add(2*time.Second), grace))
	must(t, err, "rotate B to C")
	equal(t, res.Outcome, storage.OutcomeRotated, "B to C outcome")
	_, err = s.RotateRefreshToken(c, f.rotation("rt-A", "B", now.Add(3*time.Second), grace))
	wantErr(t, err, storage.ErrTokenReused, "replay of A")
	equal(t, countLive(t, s, "at-C", "rt-C", "at-B", "rt-B"), 0, "live tokens after replay")
	_, err = s.RotateRefreshToken(c, f.rotation("rt-C", "D", now.Add(4*time.Second), grace))
	wantErr(t, err, storage.ErrRevoked, "rotate revoked C")
}

func testRefreshExpiredAndRevoked(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateTokens(c, f.tokens("fam", "0", now)), "create tokens")
	_, err := s.RotateRefreshToken(c, f.rotation("rt-0", "1", now.Add(25*time.Hour), 0))
	wantErr(t, err, storage.ErrExpired, "rotate expired")
	_, err = s.RotateRefreshToken(c, f.rotation("nope", "2", now, 0))
	wantErr(t, err, storage.ErrNotFound, "rotate unknown")
	must(t, s.RevokeRefreshToken(c, "rt-0", now), "revoke")
	_, err = s.RotateRefreshToken(c, f.rotation("rt-0", "3", now.Add(time.Minute), 0))
	wantErr(t, err, storage.ErrRevoked, "rotate revoked")
}

// testConcurrentWritesAllDurable: group-committed writes from many
// goroutines are all stored, and one failing write does not fail the others.
func testConcurrentWritesAllDurable(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	const n = 200
	errs := together(n, func(i int) error {
		if i%50 == 0 { // collides with an existing id: fails alone
			return s.CreateTokens(c, f.tokens("dup", "dup", now))
		}
		ts := f.tokens(fmt.Sprint("fam-", i), fmt.Sprint(i), now)
		if i%3 == 0 { // some sets have no refresh token, so batches hold more access rows than refresh rows
			ts.Refresh = nil
		}
		return s.CreateTokens(c, ts)
	})
	dups := 0
	for i, err := range errs {
		if i%50 == 0 {
			if err != nil {
				wantErr(t, err, storage.ErrAlreadyExists, "duplicate write")
				dups++
			}
			continue
		}
		must(t, err, fmt.Sprint("write ", i))
		_, err := s.GetAccessToken(c, fmt.Sprint("at-", i))
		must(t, err, fmt.Sprint("read back access token ", i))
		_, err = s.GetRefreshToken(c, fmt.Sprint("rt-", i))
		if i%3 == 0 {
			wantErr(t, err, storage.ErrNotFound, fmt.Sprint("refresh token of access-only set ", i))
		} else {
			must(t, err, fmt.Sprint("read back refresh token ", i))
		}
	}
	equal(t, dups, n/50-1, "duplicate writes refused")
}

// testRotateRacesFamilyRevocation: a rotation and a revocation of its family
// racing each other never leave a live token in the family, whichever
// commits first and whether or not they share a transaction.
func testRotateRacesFamilyRevocation(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	const families = 40
	for i := range families {
		must(t, s.CreateTokens(c, f.tokens(fmt.Sprint("race-", i), fmt.Sprint("race-", i), now)), "create family")
	}
	errs := together(2*families, func(i int) error {
		fam := i / 2
		if i%2 == 0 {
			rot := f.rotation(fmt.Sprint("rt-race-", fam), fmt.Sprint("race-next-", fam), now.Add(time.Second), 0)
			rot.Access.FamilyID, rot.Refresh.FamilyID = fmt.Sprint("race-", fam), fmt.Sprint("race-", fam)
			_, err := s.RotateRefreshToken(c, rot)
			if errors.Is(err, storage.ErrRevoked) {
				return nil // the revocation came first
			}
			return err
		}
		return s.RevokeFamily(c, fmt.Sprint("race-", fam), now.Add(time.Second), time.Time{})
	})
	for i, err := range errs {
		must(t, err, fmt.Sprint("racer ", i))
	}
	for fam := range families {
		ids := []string{fmt.Sprint("at-race-", fam), fmt.Sprint("rt-race-", fam)}
		for _, id := range []string{fmt.Sprint("at-race-next-", fam), fmt.Sprint("rt-race-next-", fam)} {
			if _, err := s.GetAccessToken(c, id); err == nil {
				ids = append(ids, id)
			} else if _, err := s.GetRefreshToken(c, id); err == nil {
				ids = append(ids, id)
			}
		}
		equal(t, countLive(t, s, ids...), 0, fmt.Sprint("live tokens of revoked family ", fam))
	}
}

// testGrantReads: a refresh token or code read with its account gives the
// same grant as the plain read, and the account as GetAccount has it less
// its password hash and memberships; revocations through the account or
// the family show the same way; no account, no grant.
func testGrantReads(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	guest := f.tokens("fam-g", "g", now)
	must(t, s.CreateTokens(c, guest), "create a guest's tokens")
	lone := storage.RefreshToken{ID: "rt-client", ClientID: f.client.ID,
		Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: f.client.ID}, IssuedAt: now}
	must(t, s.CreateTokens(c, storage.TokenSet{Refresh: &lone}), "create a client's refresh token")
	code := f.code("code-g", now.Add(5*time.Minute))
	must(t, s.CreateAuthCode(c, code), "create code")

	wantAccount := f.guest
	wantAccount.PasswordHash = ""
	check := func(when string, revoked time.Time, disabled bool) {
		t.Helper()
		plain, err := s.GetRefreshToken(c, guest.Refresh.ID)
		must(t, err, "get refresh token "+when)
		rt, a, err := s.GetRefreshGrant(c, guest.Refresh.ID)
		must(t, err, "get refresh grant "+when)
		equal(t, rt, plain, "refresh grant's token "+when)
		equal(t, rt.RevokedAt, revoked, "refresh grant's token revoked at "+when)
		want := wantAccount
		want.Disabled = disabled
		if disabled {
			want.TokensRevokedAt = revoked
		}
		if a == nil {
			t.Fatalf("refresh grant %s: no account", when)
		}
		equal(t, *a, want, "refresh grant's account "+when)

		plainCode, err := s.GetAuthCode(c, code.ID)
		must(t, err, "get code "+when)
		gotCode, a, err := s.GetAuthCodeGrant(c, code.ID)
		must(t, err, "get code grant "+when)
		equal(t, gotCode, plainCode, "code grant's code "+when)
		if a == nil {
			t.Fatalf("code grant %s: no account", when)
		}
		equal(t, *a, want, "code grant's account "+when)
	}
	check("as issued", time.Time{}, false)

	rt, a, err := s.GetRefreshGrant(c, lone.ID)
	must(t, err, "get a client's refresh grant")
	equal(t, rt, lone, "a client's refresh token")
	if a != nil {
		t.Fatalf("a client's refresh grant has an account: %+v", a)
	}
	_, _, err = s.GetRefreshGrant(c, "nope")
	wantErr(t, err, storage.ErrNotFound, "refresh grant of an unknown token")
	_, _, err = s.GetAuthCodeGrant(c, "nope")
	wantErr(t, err, storage.ErrNotFound, "code grant of an unknown code")

	// Disabling the account revokes the grant through its epoch.
	must(t, s.SetAccountDisabled(c, f.guest.ID, true, now.Add(time.Minute)), "disable the guest")
	check("after disabling the account", now.Add(time.Minute), true)

	// A family revocation before the account's shows as the family's.
	must(t, s.SetAccountDisabled(c, f.guest.ID, false, now.Add(2*time.Minute)), "enable the guest")
	other := f.tokens("fam-h", "h", now.Add(3*time.Minute))
	other.Access.AccountEpoch, other.Refresh.AccountEpoch = now.Add(time.Minute), now.Add(time.Minute)
	must(t, s.CreateTokens(c, other), "create tokens under the current epoch")
	must(t, s.RevokeFamily(c, "fam-h", now.Add(4*time.Minute), time.Time{}), "revoke family h")
	rt, a, err = s.GetRefreshGrant(c, other.Refresh.ID)
	must(t, err, "get a revoked family's refresh grant")
	equal(t, rt.RevokedAt, now.Add(4*time.Minute), "revoked with its family")
	if a == nil || a.Disabled || !a.TokensRevokedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("account of the revoked family's grant: %+v", a)
	}
}

// testConcurrentReadsGetTheirOwn: reads of many tokens at once, duplicates
// and unknown ids among them, each get their own answer (the reads are
// coalesced into shared statements, whose ids travel as an array on
// PostgreSQL and as JSON on SQLite: some ids carry characters either could
// mangle).
func testConcurrentReadsGetTheirOwn(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	const n = 40
	suffix := func(k int) string {
		if k%5 == 3 {
			return fmt.Sprintf(`%d"q\u0041\,{é} %%`, k)
		}
		return fmt.Sprint(k)
	}
	for i := range n {
		ts := f.tokens(fmt.Sprint("fam-", i), suffix(i), now.Add(time.Duration(i)*time.Second))
		ts.Refresh = nil
		must(t, s.CreateTokens(c, ts), "create token")
	}
	must(t, s.RevokeAccessToken(c, "at-7", now.Add(time.Hour)), "revoke one")
	const readers = 3 * n
	errs := together(readers, func(i int) error {
		k := i % (n + 10) // ids n…n+9 do not exist; the others are read two or three times
		got, err := s.GetAccessToken(c, "at-"+suffix(k))
		switch {
		case k >= n:
			if !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("unknown token at-%d: %v, want ErrNotFound", k, err)
			}
		case err != nil:
			return fmt.Errorf("token at-%d: %w", k, err)
		case got.ID != "at-"+suffix(k) || !got.IssuedAt.Equal(now.Add(time.Duration(k)*time.Second)):
			return fmt.Errorf("token at-%d read as %s issued %v", k, got.ID, got.IssuedAt)
		case (k == 7) != !got.RevokedAt.IsZero():
			return fmt.Errorf("token at-%d revoked at %v", k, got.RevokedAt)
		}
		return nil
	})
	for _, err := range errs {
		must(t, err, "concurrent read")
	}
}

// testEmptyTokenSet: a token set with nothing in it stores nothing and is
// no error, alone or in a batch with others.
func testEmptyTokenSet(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateTokens(c, storage.TokenSet{}), "store an empty token set")
	errs := together(workers, func(i int) error {
		if i%2 == 0 {
			return s.CreateTokens(c, storage.TokenSet{})
		}
		return s.CreateTokens(c, f.tokens(fmt.Sprint("fam-", i), fmt.Sprint(i), now))
	})
	for i, err := range errs {
		must(t, err, fmt.Sprint("write ", i))
	}
	equal(t, countLive(t, s, "at-1", "rt-1"), 2, "tokens stored beside empty sets")
}
