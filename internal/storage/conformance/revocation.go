package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// accountWorld is an account with what a change of trust must end: two
// refresh token families (one of them rotated), an access token of no
// family, the tokens of a redeemed code, an unused code and a session; and
// a second account whose tokens must stay as they are.
type accountWorld struct {
	fixture
	other storage.Account
}

func setupAccountWorld(t *testing.T, s storage.Storage) accountWorld {
	t.Helper()
	c := ctx(t)
	w := accountWorld{fixture: setup(t, s)}
	w.other = storage.Account{ID: "acc_other", Kind: storage.Guest, MerchantID: w.merchant.ID, Username: "janedoe",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$b3RoZXI", CreatedAt: now}
	must(t, s.CreateAccount(c, w.other), "create the other account")

	must(t, s.CreateTokens(c, w.tokens("fam-1", "1", now)), "create family 1")
	must(t, s.CreateTokens(c, w.tokens("fam-2", "2", now)), "create family 2")
	next := w.tokens("fam-2", "2b", now.Add(time.Minute))
	_, err := s.RotateRefreshToken(c, storage.Rotation{OldID: "rt-2", Access: *next.Access, Refresh: *next.Refresh,
		Now: now.Add(time.Minute)})
	must(t, err, "rotate family 2")
	lone := storage.AccessToken{ID: "at-lone", ClientID: w.client.ID, AccountID: w.guest.ID,
		Owner: storage.ResourceOwner{Type: storage.OwnerGuest, ID: w.guest.ID}, IssuedAt: now}
	must(t, s.CreateTokens(c, storage.TokenSet{Access: &lone}), "create an access token of no family")
	must(t, s.CreateAuthCode(c, w.code("code-unused", now.Add(5*time.Minute))), "create an unused code")
	must(t, s.CreateAuthCode(c, w.code("code-used", now.Add(5*time.Minute))), "create a code to redeem")
	must(t, s.RedeemAuthCode(c, "code-used", now, w.tokens("code-used", "c", now)), "redeem it")
	must(t, s.CreateSession(c, storage.Session{ID: "sess", AccountID: w.guest.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
		"create a session")

	theirs := w.tokens("fam-other", "o", now)
	theirs.Access.AccountID, theirs.Refresh.AccountID = w.other.ID, w.other.ID
	must(t, s.CreateTokens(c, theirs), "create the other account's tokens")
	must(t, s.CreateSession(c, storage.Session{ID: "sess-other", AccountID: w.other.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
		"create the other account's session")
	return w
}

// revokedAt is when the changes of these tests happen.
var revokedAt = now.Add(time.Hour)

// checkRevoked asserts that everything of the account reads as revoked at
// revokedAt, also what a grant that read the account before the change
// stores after it, while what is issued under the new epoch is live and
// the other account lost nothing.
func (w accountWorld) checkRevoked(t *testing.T, s storage.Storage) {
	t.Helper()
	c := ctx(t)
	a, err := s.GetAccount(c, w.guest.ID)
	must(t, err, "get account")
	equal(t, a.TokensRevokedAt, revokedAt, "tokens revoked at")
	equal(t, countLive(t, s, "at-1", "rt-1", "at-2", "rt-2", "at-2b", "rt-2b", "at-lone", "at-c", "rt-c"), 0,
		"live tokens of the account")
	at, err := s.GetAccessToken(c, "at-1")
	must(t, err, "get revoked access token")
	equal(t, at.RevokedAt, revokedAt, "access token revoked at")
	_, err = s.RotateRefreshToken(c, storage.Rotation{OldID: "rt-2b", Access: storage.AccessToken{ID: "at-2c", FamilyID: "fam-2",
		ClientID: w.client.ID}, Refresh: storage.RefreshToken{ID: "rt-2c", FamilyID: "fam-2", ClientID: w.client.ID},
		Now: now.Add(2 * time.Hour)})
	wantErr(t, err, storage.ErrRevoked, "rotate a revoked refresh token")
	code, err := s.GetAuthCode(c, "code-unused")
	must(t, err, "get code issued before the change")
	if code.AccountEpoch.Equal(a.TokensRevokedAt) {
		t.Fatal("a code issued before the change carries the new epoch")
	}

	// A grant that read the account before the change (a rotation, a
	// redemption, a login) stores tokens with the old epoch after it; they
	// are revoked. A grant reading it after gets the new epoch; those live.
	late := w.tokens("fam-2", "late", now.Add(time.Hour))
	must(t, s.CreateTokens(c, late), "store tokens of the old epoch")
	fresh := w.tokens("fam-new", "new", revokedAt)
	fresh.Access.AccountEpoch, fresh.Refresh.AccountEpoch = a.TokensRevokedAt, a.TokensRevokedAt
	must(t, s.CreateTokens(c, fresh), "store tokens of the new epoch")
	equal(t, countLive(t, s, "at-late", "rt-late"), 0, "live tokens of the old epoch stored after the change")
	equal(t, countLive(t, s, "at-new", "rt-new"), 2, "live tokens of the new epoch")
	got, err := s.GetRefreshToken(c, "rt-new")
	must(t, err, "get a token of the new epoch")
	equal(t, got, *fresh.Refresh, "token of the new epoch")

	_, err = s.GetSession(c, "sess")
	wantErr(t, err, storage.ErrNotFound, "the account's session")
	equal(t, countLive(t, s, "at-o", "rt-o"), 2, "live tokens of the other account")
	_, err = s.GetSession(c, "sess-other")
	must(t, err, "the other account's session")
}

// testSetAccountPasswordRevokes: a new password revokes every token and
// code of the account and deletes its sessions, in the same write; a
// second change within the same millisecond revokes again.
func testSetAccountPasswordRevokes(t *testing.T, s storage.Storage) {
	c := ctx(t)
	w := setupAccountWorld(t, s)
	wantErr(t, s.SetAccountPassword(c, "acc_nobody", "hash", revokedAt), storage.ErrNotFound, "set password of no account")
	must(t, s.SetAccountPassword(c, w.guest.ID, "$argon2id$new", revokedAt), "set password")
	a, err := s.GetAccount(c, w.guest.ID)
	must(t, err, "get account")
	equal(t, a.PasswordHash, "$argon2id$new", "stored hash")
	equal(t, a.Disabled, false, "disabled")
	w.checkRevoked(t, s)

	must(t, s.SetAccountPassword(c, w.guest.ID, "$argon2id$newer", revokedAt), "set password again at the same time")
	a, err = s.GetAccount(c, w.guest.ID)
	must(t, err, "get account")
	if !a.TokensRevokedAt.After(revokedAt) {
		t.Fatalf("a second revocation at the same time left the epoch at %v", a.TokensRevokedAt)
	}
	equal(t, countLive(t, s, "at-new", "rt-new"), 0, "live tokens after the second change")
}

// testSetAccountDisabledRevokes: disabling revokes the same; enabling
// again gives nothing back and revokes nothing more.
func testSetAccountDisabledRevokes(t *testing.T, s storage.Storage) {
	c := ctx(t)
	w := setupAccountWorld(t, s)
	wantErr(t, s.SetAccountDisabled(c, "acc_nobody", true, revokedAt), storage.ErrNotFound, "disable no account")
	must(t, s.SetAccountDisabled(c, w.guest.ID, true, revokedAt), "disable")
	a, err := s.GetAccount(c, w.guest.ID)
	must(t, err, "get account")
	equal(t, a.Disabled, true, "disabled")
	equal(t, a.PasswordHash, w.guest.PasswordHash, "hash after disabling")
	w.checkRevoked(t, s)

	must(t, s.SetAccountDisabled(c, w.guest.ID, false, revokedAt.Add(time.Hour)), "enable")
	a, err = s.GetAccount(c, w.guest.ID)
	must(t, err, "get account")
	equal(t, a.Disabled, false, "disabled after enabling")
	equal(t, a.TokensRevokedAt, revokedAt, "tokens revoked at after enabling")
	equal(t, countLive(t, s, "at-1", "rt-1", "at-late"), 0, "live tokens of the old epoch after enabling")
	equal(t, countLive(t, s, "at-new", "rt-new"), 2, "live tokens of the new epoch after enabling")
	wantErr(t, s.SetAccountDisabled(c, "acc_nobody", false, revokedAt), storage.ErrNotFound, "enable no account")
}

// testRevocationRacesRotation: rotations of the account's tokens running
// while its password changes end with no live token of the account,
// whichever committed first: the successors carry the epoch their grant
// read, and rotations after the change are refused.
func testRevocationRacesRotation(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	var ids []string
	for i := range workers {
		set := f.tokens(fmt.Sprint("fam-race-", i), fmt.Sprint("race-", i), now)
		must(t, s.CreateTokens(c, set), "create family")
		ids = append(ids, set.Access.ID, set.Refresh.ID)
	}
	errs := together(workers+1, func(i int) error {
		if i == workers {
			return s.SetAccountPassword(c, f.guest.ID, "$argon2id$raced", revokedAt)
		}
		next := f.tokens(fmt.Sprint("fam-race-", i), fmt.Sprint("race-next-", i), now.Add(time.Minute))
		_, err := s.RotateRefreshToken(c, storage.Rotation{OldID: fmt.Sprint("rt-race-", i), Access: *next.Access,
			Refresh: *next.Refresh, Now: now.Add(time.Minute)})
		return err
	})
	must(t, errs[workers], "set password while rotations run")
	for i, err := range errs[:workers] {
		if err != nil {
			wantErr(t, err, storage.ErrRevoked, fmt.Sprint("rotation ", i))
			continue
		}
		ids = append(ids, fmt.Sprint("at-race-next-", i), fmt.Sprint("rt-race-next-", i))
	}
	equal(t, countLive(t, s, ids...), 0, "live tokens after the change")
}

// testSpendAuthCode: a spent code cannot be redeemed, and of a spend and
// redemptions racing it at most one redemption wins.
func testSpendAuthCode(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateAuthCode(c, f.code("spent", now.Add(5*time.Minute))), "create code")
	must(t, s.SpendAuthCode(c, "spent", now), "spend")
	got, err := s.GetAuthCode(c, "spent")
	must(t, err, "get spent code")
	equal(t, got.UsedAt, now, "used at")
	wantErr(t, s.RedeemAuthCode(c, "spent", now.Add(time.Second), f.tokens("spent", "s", now)), storage.ErrAlreadyUsed, "redeem a spent code")
	must(t, s.SpendAuthCode(c, "spent", now.Add(time.Second)), "spend again")
	got, err = s.GetAuthCode(c, "spent")
	must(t, err, "get code spent twice")
	equal(t, got.UsedAt, now, "used at after a second spend")
	wantErr(t, s.SpendAuthCode(c, "nope", now), storage.ErrNotFound, "spend an unknown code")

	must(t, s.CreateAuthCode(c, f.code("raced", now.Add(5*time.Minute))), "create code")
	errs := together(workers, func(i int) error {
		if i%2 == 0 {
			return s.SpendAuthCode(c, "raced", now)
		}
		return s.RedeemAuthCode(c, "raced", now, f.tokens("raced", fmt.Sprint("raced-", i), now))
	})
	wins := 0
	for i, err := range errs {
		switch {
		case i%2 == 0:
			must(t, err, "spend racing redemptions")
		case err == nil:
			wins++
		default:
			wantErr(t, err, storage.ErrAlreadyUsed, "redemption racing a spend")
		}
	}
	if wins > 1 {
		t.Fatalf("%d redemptions of one code succeeded", wins)
	}
	got, err = s.GetAuthCode(c, "raced")
	must(t, err, "get raced code")
	if got.UsedAt.IsZero() {
		t.Fatal("the raced code is still unused")
	}
}

// testAccountEpochsRoundTrip: the epochs of accounts, codes and tokens
// are stored as given.
func testAccountEpochsRoundTrip(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	epoch := now.Add(-time.Hour)
	a := f.guest
	a.ID, a.Username, a.TokensRevokedAt = "acc_epoch", "epoch", now
	must(t, s.CreateAccount(c, a), "create account")
	got, err := s.GetAccount(c, a.ID)
	must(t, err, "get account")
	equal(t, got.TokensRevokedAt, time.Time{}, "epoch of a new account")
	must(t, s.SetAccountPassword(c, a.ID, "$argon2id$epoch", epoch), "revoke")
	got, err = s.GetAccount(c, a.ID)
	must(t, err, "get account")
	equal(t, got.TokensRevokedAt, epoch, "account epoch")
	code := f.code("code-epoch", now.Add(5*time.Minute))
	code.AccountID, code.AccountEpoch = a.ID, epoch
	must(t, s.CreateAuthCode(c, code), "create code")
	gotCode, err := s.GetAuthCode(c, code.ID)
	must(t, err, "get code")
	equal(t, gotCode, code, "code with an epoch")
	set := f.tokens("fam-epoch", "epoch", now)
	set.Access.AccountID, set.Refresh.AccountID = a.ID, a.ID
	set.Access.AccountEpoch, set.Refresh.AccountEpoch = epoch, epoch
	must(t, s.CreateTokens(c, set), "create tokens")
	gotA, err := s.GetAccessToken(c, set.Access.ID)
	must(t, err, "get access token")
	equal(t, gotA, *set.Access, "access token with an epoch")
	gotR, err := s.GetRefreshToken(c, set.Refresh.ID)
	must(t, err, "get refresh token")
	equal(t, gotR, *set.Refresh, "refresh token with an epoch")
	// UpdateAccount keeps the epoch.
	must(t, s.UpdateAccount(c, a.ID, func(a storage.Account) (storage.Account, error) {
		a.TokensRevokedAt, a.PrintedCardNumber = time.Time{}, "123"
		return a, nil
	}), "update account")
	got, err = s.GetAccount(c, a.ID)
	must(t, err, "get account")
	equal(t, got.TokensRevokedAt, epoch, "account epoch after an update")
	equal(t, countLive(t, s, set.Access.ID, set.Refresh.ID), 2, "live tokens of the account's epoch")
}

// testClientIntrospect: the introspect permission round-trips and can be
// withdrawn.
func testClientIntrospect(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	rs := f.client
	rs.ID, rs.Introspect = "rs", true
	must(t, s.CreateClient(c, rs), "create resource server")
	got, err := s.GetClient(c, "rs")
	must(t, err, "get resource server")
	equal(t, got.Introspect, true, "introspect permission")
	must(t, s.UpdateClient(c, "rs", func(cl storage.Client) (storage.Client, error) {
		cl.Introspect = false
		return cl, nil
	}), "withdraw the permission")
	got, err = s.GetClient(c, "rs")
	must(t, err, "get resource server")
	equal(t, got.Introspect, false, "introspect permission after withdrawing it")
	got, err = s.GetClient(c, f.client.ID)
	must(t, err, "get client")
	equal(t, got.Introspect, false, "a client registered without the permission")
}
