package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// bulkAt is when the bulk revocations of these tests happen: after the
// fixture's tokens were issued (at now) and before they expire.
var bulkAt = now.Add(10 * time.Minute)

// bulkWorld is the fixture (merchant 777777, its guest, its bound client
// "app") with tokens of every kind a bulk revocation must tell apart:
//   - of "app": family a, family b rotated once (b → b2), an access token
//     of no family, one already revoked, one expired, an unused code and a
//     pending device code;
//   - of the unbound client "platform": a pair for the fixture's guest, an
//     access token acting for merchant 777777 (staff) and one acting for
//     merchant 888888, and an unused code acting for 777777;
//   - of "app8", bound to merchant 888888: a pair for its own guest.
type bulkWorld struct {
	fixture
	platform, app8 storage.Client
	guest8         storage.Account
}

// The token ids of bulkWorld by who must lose them.
var (
	// the unexpired, unrevoked tokens of "app" (rt-b rotated, but unrevoked)
	appLive = []string{"at-a", "rt-a", "at-b", "rt-b", "at-b2", "rt-b2", "at-lone"}
	// "platform" tokens acting for 777777 or its guest
	platform777 = []string{"at-pg", "rt-pg", "at-pm"}
	// what acts for 888888
	merchant888 = []string{"at-p8", "at-8", "rt-8"}
	// when at-rev was revoked, before the bulk revocations
	revokedEarly = now.Add(time.Minute)
)

func setupBulkWorld(t *testing.T, s storage.Storage) bulkWorld {
	t.Helper()
	c := ctx(t)
	w := bulkWorld{fixture: setup(t, s)}
	must(t, s.CreateMerchant(c, storage.Merchant{ID: "888888", Name: "Other Shop", CreatedAt: now}), "create merchant 888888")
	w.guest8 = storage.Account{ID: "acc_guest8", Kind: storage.Guest, MerchantID: "888888", Username: "johndoe",
		PasswordHash: w.guest.PasswordHash, CreatedAt: now}
	must(t, s.CreateAccount(c, w.guest8), "create 888888's guest")
	w.platform = w.client
	w.platform.ID, w.platform.Name, w.platform.MerchantID = "platform", "Platform", ""
	must(t, s.CreateClient(c, w.platform), "create the unbound client")
	w.app8 = w.client
	w.app8.ID, w.app8.Name, w.app8.MerchantID = "app8", "App 888888", "888888"
	must(t, s.CreateClient(c, w.app8), "create 888888's client")

	// "app"
	must(t, s.CreateTokens(c, w.tokens("fam-a", "a", now)), "create family a")
	must(t, s.CreateTokens(c, w.tokens("fam-b", "b", now)), "create family b")
	next := w.tokens("fam-b", "b2", now.Add(time.Minute))
	_, err := s.RotateRefreshToken(c, storage.Rotation{OldID: "rt-b", Access: *next.Access, Refresh: *next.Refresh,
		Now: now.Add(time.Minute)})
	must(t, err, "rotate family b")
	lone := *w.tokens("", "lone", now).Access
	must(t, s.CreateTokens(c, storage.TokenSet{Access: &lone}), "create an access token of no family")
	rev := *w.tokens("", "rev", now).Access
	must(t, s.CreateTokens(c, storage.TokenSet{Access: &rev}), "create an access token to revoke")
	must(t, s.RevokeAccessToken(c, rev.ID, revokedEarly), "revoke it")
	exp := *w.tokens("", "exp", now.Add(-time.Hour)).Access
	must(t, s.CreateTokens(c, storage.TokenSet{Access: &exp}), "create an expired access token")
	must(t, s.CreateAuthCode(c, w.code("code-app", now.Add(30*time.Minute))), "create app's code")
	must(t, s.CreateDeviceCode(c, storage.DeviceCode{ID: "dev-app", UserCodeHash: "uc-app", ClientID: w.client.ID,
		Scopes: []string{"user_read"}, Status: storage.DevicePending, Interval: 5 * time.Second, CreatedAt: now,
		ExpiresAt: now.Add(30 * time.Minute)}), "create app's device code")

	// "platform"
	pg := w.tokens("fam-pg", "pg", now)
	pg.Access.ClientID, pg.Refresh.ClientID = w.platform.ID, w.platform.ID
	must(t, s.CreateTokens(c, pg), "create platform's tokens for 777777's guest")
	staff := func(id, merchant string) *storage.AccessToken {
		return &storage.AccessToken{ID: id, ClientID: w.platform.ID, Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: merchant},
			Scopes: []string{"user_read"}, IssuedAt: now, ExpiresAt: now.Add(30 * time.Minute)}
	}
	must(t, s.CreateTokens(c, storage.TokenSet{Access: staff("at-pm", w.merchant.ID)}), "create platform's token for 777777")
	must(t, s.CreateTokens(c, storage.TokenSet{Access: staff("at-p8", "888888")}), "create platform's token for 888888")
	pcode := w.code("code-platform", now.Add(30*time.Minute))
	pcode.ClientID = w.platform.ID
	must(t, s.CreateAuthCode(c, pcode), "create platform's code acting for 777777")

	// "app8"
	t8 := w.tokens("fam-8", "8", now)
	for _, x := range []*string{&t8.Access.ClientID, &t8.Refresh.ClientID} {
		*x = w.app8.ID
	}
	t8.Access.AccountID, t8.Refresh.AccountID = w.guest8.ID, w.guest8.ID
	t8.Access.Owner = storage.ResourceOwner{Type: storage.OwnerGuest, ID: w.guest8.ID}
	t8.Refresh.Owner = t8.Access.Owner
	must(t, s.CreateTokens(c, t8), "create app8's tokens")

	equal(t, countLive(t, s, appLive...), len(appLive), "unrevoked tokens of app before")
	equal(t, countLive(t, s, platform777...), len(platform777), "live platform tokens of 777777 before")
	equal(t, countLive(t, s, merchant888...), len(merchant888), "live tokens of 888888 before")
	return w
}

// revokedAtBulk asserts that each token reads as revoked at bulkAt.
func revokedAtBulk(t *testing.T, s storage.Storage, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if a, err := s.GetAccessToken(ctx(t), id); err == nil {
			equal(t, a.RevokedAt, bulkAt, "revoked at of "+id)
			continue
		}
		r, err := s.GetRefreshToken(ctx(t), id)
		must(t, err, "get token "+id)
		equal(t, r.RevokedAt, bulkAt, "revoked at of "+id)
	}
}

// checkUntouchedDead asserts that what was dead before kept its state.
func (w bulkWorld) checkUntouchedDead(t *testing.T, s storage.Storage) {
	t.Helper()
	c := ctx(t)
	rev, err := s.GetAccessToken(c, "at-rev")
	must(t, err, "get the token revoked before")
	equal(t, rev.RevokedAt, revokedEarly, "revoked at of a token revoked before")
	exp, err := s.GetAccessToken(c, "at-exp")
	must(t, err, "get the expired token")
	equal(t, exp.RevokedAt, time.Time{}, "revoked at of an expired token")
}

// checkAppGone asserts what revoking "app" must have done to its codes
// and its refresh tokens: its device code is denied when deviceDenied
// (a revocation for one account leaves a pending one, which has none yet).
func (w bulkWorld) checkAppGone(t *testing.T, s storage.Storage, deviceDenied bool) {
	t.Helper()
	c := ctx(t)
	code, err := s.GetAuthCode(c, "code-app")
	must(t, err, "get app's code")
	equal(t, code.UsedAt, bulkAt, "used at of app's code")
	wantErr(t, s.RedeemAuthCode(c, "code-app", bulkAt.Add(time.Second), w.tokens("code-app", "late", bulkAt)),
		storage.ErrAlreadyUsed, "redeem app's code after the revocation")
	dev, err := s.GetDeviceCode(c, "dev-app")
	must(t, err, "get app's device code")
	want := storage.DevicePending
	if deviceDenied {
		want = storage.DeviceDenied
	}
	equal(t, dev.Status, want, "status of app's device code")
	next := w.tokens("fam-b", "b3", bulkAt.Add(time.Second))
	_, err = s.RotateRefreshToken(c, storage.Rotation{OldID: "rt-b2", Access: *next.Access, Refresh: *next.Refresh,
		Now: bulkAt.Add(time.Second)})
	wantErr(t, err, storage.ErrRevoked, "rotate a refresh token of app after the revocation")
	// Tokens issued afterwards are live.
	must(t, s.CreateTokens(c, w.tokens("fam-new", "new", bulkAt.Add(time.Second))), "create tokens after")
	equal(t, countLive(t, s, "at-new", "rt-new"), 2, "live tokens issued after the revocation")
}

// testRevokeClientTokens: every live token of the client, whoever it acts
// for, reads as revoked at the time given, its codes are spent; the other
// clients' tokens, and what was dead before, are untouched; a second call
// revokes nothing; an unknown client is ErrNotFound.
func testRevokeClientTokens(t *testing.T, s storage.Storage) {
	c := ctx(t)
	w := setupBulkWorld(t, s)
	n, err := s.RevokeClientTokens(c, w.client.ID, bulkAt)
	must(t, err, "revoke app's tokens")
	equal(t, n, int64(len(appLive)), "tokens revoked")
	revokedAtBulk(t, s, appLive...)
	equal(t, countLive(t, s, platform777...), len(platform777), "live platform tokens of 777777")
	equal(t, countLive(t, s, merchant888...), len(merchant888), "live tokens of 888888")
	pcode, err := s.GetAuthCode(c, "code-platform")
	must(t, err, "get platform's code")
	equal(t, pcode.UsedAt, time.Time{}, "used at of another client's code")
	w.checkUntouchedDead(t, s)

	n, err = s.RevokeClientTokens(c, w.client.ID, bulkAt.Add(time.Minute))
	must(t, err, "revoke app's tokens again")
	equal(t, n, int64(0), "tokens revoked the second time")
	revokedAtBulk(t, s, appLive...) // the first time stands
	w.checkAppGone(t, s, true)

	_, err = s.RevokeClientTokens(c, "nobody", bulkAt)
	wantErr(t, err, storage.ErrNotFound, "revoke the tokens of an unknown client")
	n, err = s.RevokeClientTokens(c, w.app8.ID, bulkAt)
	must(t, err, "revoke app8's tokens")
	equal(t, n, int64(2), "app8's tokens revoked")
	equal(t, countLive(t, s, "at-8", "rt-8", "at-p8"), 1, "live tokens of 888888 after app8's revocation")
}

// testRevokeGrantTokens: what one client was issued for one account goes
// (a withdrawn consent): every live token of "app" for the guest and its
// code; the same guest's tokens of "platform", and what was dead before,
// are untouched; a second call revokes nothing.
func testRevokeGrantTokens(t *testing.T, s storage.Storage) {
	c := ctx(t)
	w := setupBulkWorld(t, s)
	n, err := s.RevokeGrantTokens(c, w.guest.ID, w.client.ID, bulkAt)
	must(t, err, "revoke app's tokens for the guest")
	equal(t, n, int64(len(appLive)), "tokens revoked")
	revokedAtBulk(t, s, appLive...)
	equal(t, countLive(t, s, platform777...), len(platform777), "live platform tokens of the same guest and merchant")
	equal(t, countLive(t, s, merchant888...), len(merchant888), "live tokens of 888888")
	w.checkUntouchedDead(t, s)
	pcode, err := s.GetAuthCode(c, "code-platform")
	must(t, err, "get platform's code")
	equal(t, pcode.UsedAt, time.Time{}, "used at of another client's code for the guest")

	n, err = s.RevokeGrantTokens(c, w.guest.ID, w.client.ID, bulkAt.Add(time.Minute))
	must(t, err, "revoke again")
	equal(t, n, int64(0), "tokens revoked the second time")
	revokedAtBulk(t, s, appLive...) // the first time stands
	w.checkAppGone(t, s, false)

	_, err = s.RevokeGrantTokens(c, "acc_nobody", w.client.ID, bulkAt)
	wantErr(t, err, storage.ErrNotFound, "revoke the tokens of an unknown account")
	n, err = s.RevokeGrantTokens(c, w.guest8.ID, w.client.ID, bulkAt)
	must(t, err, "revoke app's tokens for a guest it has none of")
	equal(t, n, int64(0), "tokens revoked for that guest")
}

// testRevokeMerchantTokens: revoking everything of a merchant revokes the
// tokens acting for it, those of its guests whichever client holds them,
// and every token of its bound clients, spends their codes, and leaves
// the other merchant's tokens alone; a second call revokes nothing.
func testRevokeMerchantTokens(t *testing.T, s storage.Storage) {
	c := ctx(t)
	w := setupBulkWorld(t, s)
	n, err := s.RevokeOwnerTokens(c, storage.ResourceOwner{Type: storage.OwnerMerchant, ID: w.merchant.ID}, bulkAt)
	must(t, err, "revoke merchant 777777's tokens")
	equal(t, n, int64(len(appLive)+len(platform777)), "tokens revoked")
	revokedAtBulk(t, s, appLive...)
	revokedAtBulk(t, s, platform777...)
	equal(t, countLive(t, s, merchant888...), len(merchant888), "live tokens of 888888")
	pcode, err := s.GetAuthCode(c, "code-platform")
	must(t, err, "get platform's code acting for 777777")
	equal(t, pcode.UsedAt, bulkAt, "used at of a code acting for the merchant")
	w.checkUntouchedDead(t, s)

	n, err = s.RevokeOwnerTokens(c, storage.ResourceOwner{Type: storage.OwnerMerchant, ID: w.merchant.ID}, bulkAt.Add(time.Minute))
	must(t, err, "revoke merchant 777777's tokens again")
	equal(t, n, int64(0), "tokens revoked the second time")
	w.checkAppGone(t, s, true)

	_, err = s.RevokeOwnerTokens(c, storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "999999"}, bulkAt)
	wantErr(t, err, storage.ErrNotFound, "revoke the tokens of an unknown merchant")
	if _, err := s.RevokeOwnerTokens(c, storage.ResourceOwner{Type: "planet", ID: "earth"}, bulkAt); err == nil {
		t.Fatal("revoking the tokens of an unknown owner type succeeded")
	}
	// Any other owner: only the tokens acting for it.
	n, err = s.RevokeOwnerTokens(c, storage.ResourceOwner{Type: storage.OwnerGuest, ID: w.guest8.ID}, bulkAt)
	must(t, err, "revoke the tokens of 888888's guest")
	equal(t, n, int64(2), "tokens of 888888's guest revoked")
	equal(t, countLive(t, s, merchant888...), 1, "live tokens of 888888 after its guest's revocation")
}

// testRevokeAccountTokens: revoking an account's tokens does what a new
// password does, keeping the password and the state.
func testRevokeAccountTokens(t *testing.T, s storage.Storage) {
	c := ctx(t)
	w := setupAccountWorld(t, s)
	wantErr(t, s.RevokeAccountTokens(c, "acc_nobody", revokedAt), storage.ErrNotFound, "revoke the tokens of no account")
	must(t, s.RevokeAccountTokens(c, w.guest.ID, revokedAt), "revoke the account's tokens")
	a, err := s.GetAccount(c, w.guest.ID)
	must(t, err, "get account")
	equal(t, a.PasswordHash, w.guest.PasswordHash, "hash after revoking")
	equal(t, a.Disabled, false, "disabled after revoking")
	w.checkRevoked(t, s)

	must(t, s.RevokeAccountTokens(c, w.guest.ID, revokedAt), "revoke again at the same time")
	a, err = s.GetAccount(c, w.guest.ID)
	must(t, err, "get account")
	if !a.TokensRevokedAt.After(revokedAt) {
		t.Fatalf("a second revocation at the same time left the epoch at %v", a.TokensRevokedAt)
	}
	equal(t, countLive(t, s, "at-new", "rt-new"), 0, "live tokens after the second revocation")
}

// testRevokeClientRacesRotation: rotations of a client's refresh tokens
// running while all its tokens are revoked end with no live token of the
// client, whichever committed first.
func testRevokeClientRacesRotation(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	var ids []string
	for i := range workers {
		set := f.tokens(fmt.Sprint("fam-race-", i), fmt.Sprint("race-", i), now)
		must(t, s.CreateTokens(c, set), "create family")
		ids = append(ids, set.Access.ID, set.Refresh.ID)
	}
	var revoked int64
	errs := together(workers+1, func(i int) error {
		if i == workers {
			n, err := s.RevokeClientTokens(c, f.client.ID, bulkAt)
			revoked = n
			return err
		}
		next := f.tokens(fmt.Sprint("fam-race-", i), fmt.Sprint("race-next-", i), now.Add(time.Minute))
		_, err := s.RotateRefreshToken(c, storage.Rotation{OldID: fmt.Sprint("rt-race-", i), Access: *next.Access,
			Refresh: *next.Refresh, Now: now.Add(time.Minute)})
		return err
	})
	must(t, errs[workers], "revoke the client's tokens while rotations run")
	rotated := 0
	for i, err := range errs[:workers] {
		if err != nil {
			wantErr(t, err, storage.ErrRevoked, fmt.Sprint("rotation ", i))
			continue
		}
		rotated++
		ids = append(ids, fmt.Sprint("at-race-next-", i), fmt.Sprint("rt-race-next-", i))
	}
	equal(t, countLive(t, s, ids...), 0, "live tokens after the revocation")
	// A family rotated before the revocation loses four tokens (its first
	// pair and their successors), any other two; none rotates after.
	equal(t, revoked, int64(2*workers+2*rotated), "tokens revoked")
}
