// Package conformance is the test suite every storage backend must pass.
// A backend's tests call Run with a function that opens a fresh, empty,
// migrated store; the suite then checks the behaviour the rest of latchkey
// relies on, including exactly-once semantics under real concurrency.
package conformance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Opener returns a fresh, empty, migrated store; the suite closes it.
type Opener func(t *testing.T) storage.Storage

// Reopener picks a fresh, empty database and returns a function that opens
// it, migrated up to schema version (0: the latest), which the caller
// closes, and a plain connection to it for writing rows as an older
// release wrote them (the store writes today's columns).
type Reopener func(t *testing.T) (open func(version int) storage.Storage, raw *sql.DB)

// RunReopen checks what must hold from one opening of a database to the
// next: data written under older schema versions is read back, revoked and
// swept the same after an upgrade to the latest, clients written before
// schema version 8 read back the same and take its settings, and every
// write answered before Close is there after it.
func RunReopen(t *testing.T, open Reopener) {
	for _, from := range []int{2} { // versions whose upgrade changes how tokens are stored
		t.Run(fmt.Sprintf("UpgradeFromVersion%d", from), func(t *testing.T) {
			testUpgrade(t, open, from)
		})
	}
	t.Run("ClientsFromVersion7", func(t *testing.T) { testClientUpgrade(t, open, 7) })
	t.Run("CloseKeepsAnsweredWrites", func(t *testing.T) { testCloseKeepsAnsweredWrites(t, open) })
}

// Run runs the whole suite against the backend open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"MerchantsAndOrganizations", testMerchantsAndOrganizations},
		{"Accounts", testAccounts},
		{"AccountUniqueness", testAccountUniqueness},
		{"AccountsPagedWithin", testAccountsPagedWithin},
		{"Clients", testClients},
		{"UpdatesLoseNothing", testUpdatesLoseNothing},
		{"AuthCodeRedeemedOnce", testAuthCodeRedeemedOnce},
		{"AuthCodeExpiryAndUnknown", testAuthCodeExpiryAndUnknown},
		{"TokensAndRevocation", testTokensAndRevocation},
		{"RefreshRotatedOnce", testRefreshRotatedOnce},
		{"RefreshGraceSameSuccessor", testRefreshGraceSameSuccessor},
		{"RefreshReplayAfterSuccessorUsed", testRefreshReplayAfterSuccessorUsed},
		{"RefreshExpiredAndRevoked", testRefreshExpiredAndRevoked},
		{"ConcurrentWritesAllDurable", testConcurrentWritesAllDurable},
		{"RotateRacesFamilyRevocation", testRotateRacesFamilyRevocation},
		{"GrantReads", testGrantReads},
		{"ConcurrentReadsGetTheirOwn", testConcurrentReadsGetTheirOwn},
		{"EmptyTokenSet", testEmptyTokenSet},
		{"Consents", testConsents},
		{"Sessions", testSessions},
		{"SigningKeys", testSigningKeys},
		{"DeviceCodes", testDeviceCodes},
		{"ThrottleCountAtomic", testThrottleCountAtomic},
		{"ThrottleWaitsGrowAndReset", testThrottleWaitsGrowAndReset},
		{"DeleteExpired", testDeleteExpired},
		{"DeleteCascades", testDeleteCascades},
		{"SetAccountPasswordRevokes", testSetAccountPasswordRevokes},
		{"SetAccountDisabledRevokes", testSetAccountDisabledRevokes},
		{"RevocationRacesRotation", testRevocationRacesRotation},
		{"RevokeAccountTokens", testRevokeAccountTokens},
		{"RevokeClientTokens", testRevokeClientTokens},
		{"RevokeGrantTokens", testRevokeGrantTokens},
		{"RevokeMerchantTokens", testRevokeMerchantTokens},
		{"RevokeClientRacesRotation", testRevokeClientRacesRotation},
		{"SpendAuthCode", testSpendAuthCode},
		{"ClientIntrospect", testClientIntrospect},
		{"AccountEpochsRoundTrip", testAccountEpochsRoundTrip},
		{"AuditRoundTripAndFilters", testAuditRoundTripAndFilters},
		{"AuditLimits", testAuditLimits},
		{"AuditPagingUnderConcurrentAppends", testAuditPagingUnderConcurrentAppends},
		{"AuditIDsSortByTime", testAuditIDsSortByTime},
		{"AuditDeleteBefore", testAuditDeleteBefore},
		{"TokenIssueEvents", testTokenIssueEvents},
		{"CountPasswordSchemes", testCountPasswordSchemes},
		{"Import", testImport},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// now is a fixed instant with millisecond precision, as stored.
var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

const workers = 24

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func equal(t *testing.T, got, want any, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// together runs fn in n goroutines released at the same moment, and
// returns their errors in goroutine order.
func together(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// exactlyOne checks that exactly one of errs is nil and every other is one
// of allowed; it returns the winner's index.
func exactlyOne(t *testing.T, errs []error, what string, allowed ...error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("%s: succeeded twice, for %d and %d", what, winner, i)
			}
			winner = i
			continue
		}
		if !slices.ContainsFunc(allowed, func(a error) bool { return errors.Is(err, a) }) {
			t.Fatalf("%s %d: unexpected error %v (want one of %v)", what, i, err, allowed)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no call succeeded", what)
	}
	return winner
}

// fixture is the rows most tests need: a merchant, a guest, a client.
type fixture struct {
	merchant storage.Merchant
	guest    storage.Account
	client   storage.Client
}

func setup(t *testing.T, s storage.Storage) fixture {
	t.Helper()
	f := newFixture()
	f.createOwners(t, s)
	must(t, s.CreateClient(ctx(t), f.client), "create client")
	return f
}

// newFixture returns the fixture's rows, not yet stored.
func newFixture() fixture {
	return fixture{
		merchant: storage.Merchant{ID: "777777", Name: "Demo Loyalty", CreatedAt: now},
		guest: storage.Account{ID: "acc_guest", Kind: storage.Guest, MerchantID: "777777", Username: "johndoe",
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", PrintedCardNumber: "6000986775", CreatedAt: now},
		client: storage.Client{ID: "app", Name: "App", SecretHash: "hmac-sha256$v1$x", GrantTypes: []string{"password", "refresh_token"},
			Scopes: []string{"user_read", "user_write"}, DefaultScopes: []string{"user_read"}, AccessTokenTTL: 30 * time.Minute,
			MerchantID: "777777", AccountKind: storage.Guest, RotateRefresh: true, RefreshGrace: 10 * time.Second,
			AccessTokenFormat: "opaque", CreatedAt: now},
	}
}

// createOwners stores the fixture's merchant and guest.
func (f fixture) createOwners(t *testing.T, s storage.Storage) {
	t.Helper()
	must(t, s.CreateMerchant(ctx(t), f.merchant), "create merchant")
	must(t, s.CreateAccount(ctx(t), f.guest), "create guest")
}

// tokens returns an access and refresh token pair of one family.
func (f fixture) tokens(family, suffix string, issued time.Time) storage.TokenSet {
	owner := storage.ResourceOwner{Type: storage.OwnerGuest, ID: f.guest.ID}
	a := storage.AccessToken{ID: "at-" + suffix, FamilyID: family, ClientID: f.client.ID, AccountID: f.guest.ID, Owner: owner,
		Scopes: []string{"user_read"}, IssuedAt: issued, ExpiresAt: issued.Add(30 * time.Minute)}
	r := storage.RefreshToken{ID: "rt-" + suffix, FamilyID: family, ClientID: f.client.ID, AccountID: f.guest.ID, Owner: owner,
		Scopes: []string{"user_read"}, AccessTokenID: a.ID, IssuedAt: issued, ExpiresAt: issued.Add(24 * time.Hour)}
	return storage.TokenSet{Access: &a, Refresh: &r}
}

func countLive(t *testing.T, s storage.Storage, ids ...string) (live int) {
	t.Helper()
	for _, id := range ids {
		if a, err := s.GetAccessToken(ctx(t), id); err == nil {
			if a.RevokedAt.IsZero() {
				live++
			}
			continue
		}
		r, err := s.GetRefreshToken(ctx(t), id)
		must(t, err, fmt.Sprintf("get token %s", id))
		if r.RevokedAt.IsZero() {
			live++
		}
	}
	return live
}
