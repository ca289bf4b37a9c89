package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

func testConsents(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	owner := storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "777777"}
	con := storage.Consent{AccountID: f.guest.ID, ClientID: f.client.ID, Owner: owner, Scopes: []string{"user_read"}, GrantedAt: now}
	_, err := s.GetConsent(c, f.guest.ID, f.client.ID, owner)
	wantErr(t, err, storage.ErrNotFound, "no consent yet")
	must(t, s.SaveConsent(c, con), "save consent")
	con.Scopes, con.GrantedAt = []string{"user_read", "user_write"}, now.Add(time.Hour)
	must(t, s.SaveConsent(c, con), "replace consent")
	got, err := s.GetConsent(c, f.guest.ID, f.client.ID, owner)
	must(t, err, "get consent")
	equal(t, got, con, "consent replaced")
	list, err := s.ListConsents(c, f.guest.ID)
	must(t, err, "list consents")
	equal(t, list, []storage.Consent{con}, "consents")
	must(t, s.DeleteConsent(c, f.guest.ID, f.client.ID, owner), "delete consent")
	wantErr(t, s.DeleteConsent(c, f.guest.ID, f.client.ID, owner), storage.ErrNotFound, "delete twice")
}

func testSessions(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	se := storage.Session{ID: "sess", AccountID: f.guest.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(c, se), "create session")
	got, err := s.GetSession(c, se.ID)
	must(t, err, "get session")
	equal(t, got, se, "session")
	must(t, s.DeleteSession(c, se.ID), "delete session")
	_, err = s.GetSession(c, se.ID)
	wantErr(t, err, storage.ErrNotFound, "deleted session")
	wantErr(t, s.CreateSession(c, storage.Session{ID: "x", AccountID: "nope", CreatedAt: now}), storage.ErrInUse, "session of unknown account")
}

func testSigningKeys(t *testing.T, s storage.Storage) {
	c := ctx(t)
	k1 := storage.SigningKey{ID: "k1", Algorithm: "ES256", PublicJWK: `{"kty":"EC"}`, PrivateKey: []byte{0, 1, 2, 255},
		CreatedAt: now, SignFrom: now.Add(time.Hour)}
	k2 := k1
	k2.ID, k2.CreatedAt = "k2", now.Add(time.Minute)
	must(t, s.CreateSigningKey(c, k1), "create key 1")
	must(t, s.CreateSigningKey(c, k2), "create key 2")
	wantErr(t, s.CreateSigningKey(c, k1), storage.ErrAlreadyExists, "duplicate key")
	must(t, s.UpdateSigningKey(c, "k1", func(k storage.SigningKey) (storage.SigningKey, error) {
		k.RetiredAt, k.ExpiresAt = now.Add(2*time.Hour), now.Add(3*time.Hour)
		return k, nil
	}), "retire key 1")
	k1.RetiredAt, k1.ExpiresAt = now.Add(2*time.Hour), now.Add(3*time.Hour)
	list, err := s.ListSigningKeys(c)
	must(t, err, "list keys")
	equal(t, list, []storage.SigningKey{k1, k2}, "keys oldest first")
	must(t, s.DeleteSigningKey(c, "k1"), "delete key")
	wantErr(t, s.DeleteSigningKey(c, "k1"), storage.ErrNotFound, "delete twice")
}

func testDeviceCodes(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	d := storage.DeviceCode{ID: "dc", UserCodeHash: "uc", ClientID: f.client.ID, Scopes: []string{"user_read"},
		Status: storage.DevicePending, Interval: 5 * time.Second, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	must(t, s.CreateDeviceCode(c, d), "create device code")
	got, err := s.GetDeviceCodeByUserCode(c, "uc")
	must(t, err, "get by user code")
	equal(t, got, d, "device code")
	wantErr(t, s.RedeemDeviceCode(c, d.ID, now, f.tokens("dc", "early", now)), storage.ErrNotPending, "redeem while pending")

	owner := storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "777777"}
	must(t, s.DecideDeviceCode(c, d.ID, storage.DeviceDecision{Approve: true, AccountID: f.guest.ID, Owner: owner, Now: now}), "approve")
	wantErr(t, s.DecideDeviceCode(c, d.ID, storage.DeviceDecision{Now: now}), storage.ErrNotPending, "decide twice")
	got, err = s.GetDeviceCode(c, d.ID)
	must(t, err, "get approved")
	equal(t, []any{got.Status, got.AccountID, got.Owner}, []any{storage.DeviceApproved, f.guest.ID, owner}, "approval")

	errs := together(workers, func(i int) error {
		return s.RedeemDeviceCode(c, d.ID, now.Add(time.Second), f.tokens("dc", fmt.Sprint("dc-", i), now))
	})
	exactlyOne(t, errs, "redeem device code", storage.ErrAlreadyUsed)

	// Polls: the first is on time; one within the interval is too soon and
	// grows it; one after the grown interval is on time again.
	d4 := d
	d4.ID, d4.UserCodeHash = "dc4", "uc4"
	must(t, s.CreateDeviceCode(c, d4), "create polled")
	p, err := s.PollDeviceCode(c, d4.ID, now, 5*time.Second)
	must(t, err, "first poll")
	equal(t, []any{p.TooSoon, p.Code.Interval, p.Code.LastPolledAt}, []any{false, 5 * time.Second, now}, "first poll")
	p, err = s.PollDeviceCode(c, d4.ID, now.Add(4*time.Second), 5*time.Second)
	must(t, err, "early poll")
	equal(t, []any{p.TooSoon, p.Code.Interval}, []any{true, 10 * time.Second}, "early poll")
	p, err = s.PollDeviceCode(c, d4.ID, now.Add(14*time.Second+time.Millisecond), 5*time.Second)
	must(t, err, "late poll")
	equal(t, []any{p.TooSoon, p.Code.Interval}, []any{false, 10 * time.Second}, "poll after the grown interval")
	_, err = s.PollDeviceCode(c, "no-such-code", now, 5*time.Second)
	wantErr(t, err, storage.ErrNotFound, "poll an unknown code")
	// Concurrent polls at one instant: one is on time, the others too soon.
	at := now.Add(time.Hour)
	polls := make([]storage.DevicePoll, workers)
	errs = together(workers, func(i int) error {
		var err error
		polls[i], err = s.PollDeviceCode(c, d4.ID, at, 5*time.Second)
		return err
	})
	onTime := 0
	for i, err := range errs {
		must(t, err, "concurrent poll")
		if !polls[i].TooSoon {
			onTime++
		}
	}
	equal(t, onTime, 1, "concurrent polls on time")

	// The approval keeps the account's epoch and sign-in time.
	d5 := d
	d5.ID, d5.UserCodeHash = "dc5", "uc5"
	must(t, s.CreateDeviceCode(c, d5), "create for epoch")
	epoch, signedIn := now.Add(-time.Hour), now.Add(-time.Minute)
	must(t, s.DecideDeviceCode(c, d5.ID, storage.DeviceDecision{Approve: true, AccountID: f.guest.ID, Owner: owner,
		AccountEpoch: epoch, AuthTime: signedIn, Now: now}), "approve with epoch")
	got, err = s.GetDeviceCode(c, d5.ID)
	must(t, err, "get approved with epoch")
	equal(t, []any{got.AccountEpoch, got.AuthTime}, []any{epoch, signedIn}, "approval's epoch and sign-in time")

	d2 := d
	d2.ID, d2.UserCodeHash = "dc2", "uc2"
	must(t, s.CreateDeviceCode(c, d2), "create second")
	wantErr(t, s.DecideDeviceCode(c, d2.ID, storage.DeviceDecision{Approve: true, Now: now.Add(time.Hour)}), storage.ErrExpired, "approve expired")
	d2.ID = "dc3"
	wantErr(t, s.CreateDeviceCode(c, d2), storage.ErrAlreadyExists, "duplicate user code")
}

func testDeleteExpired(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateTokens(c, f.tokens("f1", "old", now.Add(-48*time.Hour))), "create old tokens")
	must(t, s.CreateTokens(c, f.tokens("f2", "new", now)), "create new tokens")
	never := storage.AccessToken{ID: "at-never", FamilyID: "f3", ClientID: f.client.ID, IssuedAt: now.Add(-1000 * time.Hour),
		Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: f.client.ID}}
	must(t, s.CreateTokens(c, storage.TokenSet{Access: &never}), "create never-expiring token")
	must(t, s.CreateAuthCode(c, f.code("old-code", now.Add(-time.Hour))), "create old code")
	// Family revocations are forgotten once the family's tokens have expired,
	// never when they do not expire.
	must(t, s.RevokeFamily(c, "f1", now.Add(-47*time.Hour), now.Add(-time.Hour)), "revoke an expired family")
	must(t, s.RevokeFamily(c, "f2", now, now.Add(time.Hour)), "revoke a live family")
	must(t, s.RevokeFamily(c, "f3", now, time.Time{}), "revoke a family that never expires")
	// More expired tokens than one deletion batch holds (backends delete in batches).
	const many = 2500
	errs := together(25, func(w int) error {
		for i := range many / 25 {
			old := f.tokens("bulk", fmt.Sprintf("bulk-%d-%d", w, i), now.Add(-48*time.Hour))
			if err := s.CreateTokens(c, storage.TokenSet{Access: old.Access}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		must(t, err, "create expired tokens")
	}
	n, err := s.DeleteExpired(c, now)
	must(t, err, "delete expired")
	equal(t, n, int64(4+many), "rows deleted (3 tokens or codes, 1 family revocation, the bulk)")
	_, err = s.GetAccessToken(c, "at-bulk-7-9")
	wantErr(t, err, storage.ErrNotFound, "a bulk expired token")
	_, err = s.GetAccessToken(c, "at-old")
	wantErr(t, err, storage.ErrNotFound, "old access token")
	for _, id := range []string{"at-new", "at-never"} {
		got, err := s.GetAccessToken(c, id)
		must(t, err, "kept "+id)
		equal(t, got.RevokedAt.IsZero(), false, "revocation of "+id+"'s family kept")
	}
}

func testDeleteCascades(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateTokens(c, f.tokens("fam", "1", now)), "create tokens")
	must(t, s.CreateSession(c, storage.Session{ID: "s", AccountID: f.guest.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}), "session")
	must(t, s.DeleteAccount(c, f.guest.ID), "delete account")
	_, err := s.GetAccessToken(c, "at-1")
	wantErr(t, err, storage.ErrNotFound, "account's access token after delete")
	_, err = s.GetSession(c, "s")
	wantErr(t, err, storage.ErrNotFound, "account's session after delete")
	must(t, s.DeleteClient(c, f.client.ID), "delete client")
	must(t, s.DeleteMerchant(c, f.merchant.ID), "delete merchant once unused")
}
