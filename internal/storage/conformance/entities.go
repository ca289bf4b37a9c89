package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

func testMerchantsAndOrganizations(t *testing.T, s storage.Storage) {
	c := ctx(t)
	org := storage.Organization{ID: "o-2001", Name: "Aston Group", CreatedAt: now}
	must(t, s.CreateOrganization(c, org), "create organization")
	wantErr(t, s.CreateOrganization(c, org), storage.ErrAlreadyExists, "duplicate organization")
	got, err := s.GetOrganization(c, org.ID)
	must(t, err, "get organization")
	equal(t, got, org, "organization")

	m1 := storage.Merchant{ID: "m-1001", Name: "Aston Cafe", OrganizationID: org.ID, CreatedAt: now}
	m2 := storage.Merchant{ID: "777777", Name: "Demo Loyalty", CreatedAt: now}
	must(t, s.CreateMerchant(c, m1), "create merchant in organization")
	must(t, s.CreateMerchant(c, m2), "create merchant")
	wantErr(t, s.CreateMerchant(c, m2), storage.ErrAlreadyExists, "duplicate merchant")
	wantErr(t, s.CreateMerchant(c, storage.Merchant{ID: "x", Name: "X", OrganizationID: "nope", CreatedAt: now}),
		storage.ErrNotFound, "merchant of unknown organization")
	list, err := s.ListMerchants(c)
	must(t, err, "list merchants")
	equal(t, list, []storage.Merchant{m2, m1}, "merchants by id")
	_, err = s.GetMerchant(c, "nope")
	wantErr(t, err, storage.ErrNotFound, "get unknown merchant")

	wantErr(t, s.DeleteOrganization(c, org.ID), storage.ErrInUse, "delete organization with merchants")
	must(t, s.DeleteMerchant(c, m1.ID), "delete merchant")
	wantErr(t, s.DeleteMerchant(c, m1.ID), storage.ErrNotFound, "delete merchant twice")
	must(t, s.DeleteOrganization(c, org.ID), "delete empty organization")
	orgs, err := s.ListOrganizations(c)
	must(t, err, "list organizations")
	equal(t, len(orgs), 0, "organizations left")
}

func testAccounts(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateOrganization(c, storage.Organization{ID: "o-1", Name: "Org", CreatedAt: now}), "create organization")
	staff := storage.Account{ID: "acc_staff", Kind: storage.Staff, Username: "Owner@Example.com", PasswordHash: "h",
		Memberships: []storage.Membership{{Type: storage.OwnerMerchant, ID: "777777"}, {Type: storage.OwnerOrganization, ID: "o-1"}},
		CreatedAt:   now}
	must(t, s.CreateAccount(c, staff), "create staff")

	got, err := s.GetAccount(c, f.guest.ID)
	must(t, err, "get guest")
	equal(t, got, f.guest, "guest")
	got, err = s.GetAccountByUsername(c, storage.Guest, "777777", "JohnDoe")
	must(t, err, "get guest by username, other case")
	equal(t, got.ID, f.guest.ID, "guest by username")
	_, err = s.GetAccountByUsername(c, storage.Staff, "", "johndoe")
	wantErr(t, err, storage.ErrNotFound, "guest is not staff")
	got, err = s.GetAccountByUsername(c, storage.Staff, "", "owner@example.com")
	must(t, err, "get staff by username")
	equal(t, got, staff, "staff with memberships")

	wantErr(t, s.CreateAccount(c, storage.Account{ID: "a2", Kind: storage.Guest, MerchantID: "nope", Username: "x", PasswordHash: "h", CreatedAt: now}),
		storage.ErrNotFound, "guest of unknown merchant")
	wantErr(t, s.CreateAccount(c, storage.Account{ID: "a3", Kind: storage.Staff, Username: "y", PasswordHash: "h", CreatedAt: now,
		Memberships: []storage.Membership{{Type: storage.OwnerOrganization, ID: "nope"}}}), storage.ErrNotFound, "membership of unknown organization")

	list, err := s.ListAccounts(c, storage.AccountFilter{Kind: storage.Staff})
	must(t, err, "list staff")
	equal(t, len(list), 1, "staff accounts")
	list, err = s.ListAccounts(c, storage.AccountFilter{MerchantID: "777777"})
	must(t, err, "list guests of merchant")
	equal(t, len(list), 1, "accounts of merchant")
	all, err := s.ListAccounts(c, storage.AccountFilter{})
	must(t, err, "list all")
	equal(t, len(all), 2, "all accounts")

	must(t, s.UpdateAccount(c, staff.ID, func(a storage.Account) (storage.Account, error) {
		a.PasswordHash, a.Disabled = "h2", true
		a.Memberships = a.Memberships[:1]
		return a, nil
	}), "update staff")
	got, err = s.GetAccount(c, staff.ID)
	must(t, err, "get updated staff")
	equal(t, []any{got.PasswordHash, got.Disabled, got.Memberships}, []any{"h2", true, staff.Memberships[:1]}, "updated fields")
	wantErr(t, s.UpdateAccount(c, "nope", func(a storage.Account) (storage.Account, error) { return a, nil }), storage.ErrNotFound, "update unknown")

	wantErr(t, s.DeleteMerchant(c, "777777"), storage.ErrInUse, "delete merchant with accounts")
	must(t, s.DeleteAccount(c, staff.ID), "delete staff")
	_, err = s.GetAccount(c, staff.ID)
	wantErr(t, err, storage.ErrNotFound, "get deleted")
}

// testAccountUniqueness: guest usernames are unique per merchant, staff
// usernames globally, case-insensitively, and racing creators get a typed error.
func testAccountUniqueness(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateMerchant(c, storage.Merchant{ID: "other", Name: "Other", CreatedAt: now}), "create merchant")
	g := f.guest
	g.ID, g.Username = "acc_dup", "JOHNDOE"
	wantErr(t, s.CreateAccount(c, g), storage.ErrAlreadyExists, "same guest username, same merchant")
	g.MerchantID = "other"
	must(t, s.CreateAccount(c, g), "same guest username, other merchant")
	staff := storage.Account{ID: "s1", Kind: storage.Staff, Username: "johndoe", PasswordHash: "h", CreatedAt: now}
	must(t, s.CreateAccount(c, staff), "staff may share a guest's username")

	errs := together(workers, func(i int) error {
		return s.CreateAccount(c, storage.Account{ID: fmt.Sprint("race-", i), Kind: storage.Staff, Username: "racer", PasswordHash: "h", CreatedAt: now})
	})
	exactlyOne(t, errs, "racing account create", storage.ErrAlreadyExists)
}

func testClients(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	full := storage.Client{ID: "test_client", Name: "Aston app", SecretHash: "hmac-sha256$v1$abc",
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"posapi", "aston-api:transaction.read"},
		DefaultScopes: []string{"posapi"}, RedirectURIs: []string{"https://youwebapp.com/oauth", "myapp://cb?x=1 2"},
		AccessTokenTTL: 31536000 * time.Second, RefreshTokenTTL: 90 * 24 * time.Hour, AccountKind: storage.Staff,
		SkipConsent: true, RotateRefresh: false, RefreshGrace: 2500 * time.Millisecond, RequirePKCE: true, AllowPlainPKCE: true,
		AccessTokenFormat: "jwt", Dialect: "a-dialect", Audience: "https://api.aston.example", ClientCredentialsRefresh: true,
		IDTokenAlg: "ES256", PostLogoutRedirectURIs: []string{"https://youwebapp.com/", "myapp://bye?x=1 2"},
		AuthMethod: "client_secret_post", CreatedAt: now}
	must(t, s.CreateClient(c, full), "create client")
	got, err := s.GetClient(c, full.ID)
	must(t, err, "get client")
	equal(t, got, full, "every client field round-trips")
	got, err = s.GetClient(c, f.client.ID)
	must(t, err, "get bound client")
	equal(t, got, f.client, "bound client")

	errs := together(workers, func(int) error { return s.CreateClient(c, storage.Client{ID: "dup", Name: "D", CreatedAt: now}) })
	exactlyOne(t, errs, "racing client create", storage.ErrAlreadyExists)
	wantErr(t, s.CreateClient(c, storage.Client{ID: "x", MerchantID: "nope", CreatedAt: now}), storage.ErrNotFound, "client of unknown merchant")
	wantErr(t, s.CreateClient(c, storage.Client{ID: "x", OrganizationID: "nope", CreatedAt: now}), storage.ErrNotFound,
		"client of unknown organization")
	must(t, s.CreateOrganization(c, storage.Organization{ID: "o-bound", Name: "Group", CreatedAt: now}), "create organization")
	orgBound := storage.Client{ID: "org_client", Name: "Group app", SecretHash: "hmac-sha256$v1$def",
		GrantTypes: []string{"client_credentials"}, OrganizationID: "o-bound", AccountKind: storage.Staff, CreatedAt: now}
	must(t, s.CreateClient(c, orgBound), "create organization-bound client")
	got, err = s.GetClient(c, orgBound.ID)
	must(t, err, "get organization-bound client")
	equal(t, got, orgBound, "organization-bound client")
	wantErr(t, s.DeleteOrganization(c, "o-bound"), storage.ErrInUse, "delete an organization a client is bound to")

	must(t, s.UpdateClient(c, full.ID, func(cl storage.Client) (storage.Client, error) {
		cl.SecretHash = "hmac-sha256$v1$new"
		return cl, nil
	}), "rotate secret")
	got, err = s.GetClient(c, full.ID)
	must(t, err, "get rotated")
	equal(t, got.SecretHash, "hmac-sha256$v1$new", "secret hash")
	equal(t, []any{got.IDTokenAlg, got.PostLogoutRedirectURIs}, []any{full.IDTokenAlg, full.PostLogoutRedirectURIs},
		"OpenID Connect settings kept by an update")
	must(t, s.UpdateClient(c, full.ID, func(cl storage.Client) (storage.Client, error) {
		cl.IDTokenAlg, cl.PostLogoutRedirectURIs = "RS256", []string{"https://youwebapp.com/logged-out"}
		return cl, nil
	}), "change the OpenID Connect settings")
	got, err = s.GetClient(c, full.ID)
	must(t, err, "get updated")
	equal(t, []any{got.IDTokenAlg, got.PostLogoutRedirectURIs}, []any{"RS256", []string{"https://youwebapp.com/logged-out"}},
		"OpenID Connect settings after an update")
	must(t, s.UpdateClient(c, full.ID, func(cl storage.Client) (storage.Client, error) {
		cl.IDTokenAlg, cl.PostLogoutRedirectURIs = "", nil
		return cl, nil
	}), "clear the OpenID Connect settings")
	got, err = s.GetClient(c, full.ID)
	must(t, err, "get cleared")
	equal(t, []any{got.IDTokenAlg, got.PostLogoutRedirectURIs}, []any{"", []string(nil)}, "OpenID Connect settings cleared")
	list, err := s.ListClients(c)
	must(t, err, "list clients")
	equal(t, len(list), 4, "clients")
	must(t, s.DeleteClient(c, full.ID), "delete client")
	wantErr(t, s.DeleteClient(c, full.ID), storage.ErrNotFound, "delete twice")
	must(t, s.DeleteClient(c, orgBound.ID), "delete organization-bound client")
	must(t, s.DeleteOrganization(c, "o-bound"), "delete the organization once nothing is bound to it")
}

// testAccountsPagedWithin: accounts page by id, and Within keeps a
// tenant's guests and staff only.
func testAccountsPagedWithin(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	must(t, s.CreateMerchant(c, storage.Merchant{ID: "888888", Name: "Other", CreatedAt: now}), "create merchant")
	must(t, s.CreateOrganization(c, storage.Organization{ID: "o-1", Name: "Org", CreatedAt: now}), "create organization")
	mk := func(id string, kind storage.AccountKind, merchant string, ms ...storage.Membership) {
		t.Helper()
		must(t, s.CreateAccount(c, storage.Account{ID: id, Kind: kind, MerchantID: merchant, Username: "u-" + id, PasswordHash: "h",
			Memberships: ms, CreatedAt: now}), "create "+id)
	}
	m7 := storage.Membership{Type: storage.OwnerMerchant, ID: "777777"}
	m8 := storage.Membership{Type: storage.OwnerMerchant, ID: "888888"}
	org := storage.Membership{Type: storage.OwnerOrganization, ID: "o-1"}
	mk("b-guest7", storage.Guest, "777777")
	mk("c-guest8", storage.Guest, "888888")
	mk("d-staff7", storage.Staff, "", m7)
	mk("e-staff8org", storage.Staff, "", m8, org)
	mk("f-staff8", storage.Staff, "", m8)
	idsOf := func(f storage.AccountFilter) []string {
		t.Helper()
		as, err := s.ListAccounts(c, f)
		must(t, err, fmt.Sprintf("list %+v", f))
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	equal(t, idsOf(storage.AccountFilter{Limit: 2}), []string{f.guest.ID, "b-guest7"}, "first page by id")
	equal(t, idsOf(storage.AccountFilter{After: "b-guest7", Limit: 2}), []string{"c-guest8", "d-staff7"}, "second page")
	equal(t, idsOf(storage.AccountFilter{After: "e-staff8org"}), []string{"f-staff8"}, "after, without a limit")
	equal(t, idsOf(storage.AccountFilter{After: "f-staff8", Limit: 2}), []string(nil), "past the end")
	equal(t, idsOf(storage.AccountFilter{Within: []storage.Membership{m7}, Limit: 10}), []string{f.guest.ID, "b-guest7", "d-staff7"},
		"a merchant's guests and staff")
	equal(t, idsOf(storage.AccountFilter{Within: []storage.Membership{org}, Limit: 10}), []string{"e-staff8org"},
		"an organization's staff (guests belong to merchants)")
	equal(t, idsOf(storage.AccountFilter{Within: []storage.Membership{m8, org}, Kind: storage.Staff, Limit: 10}),
		[]string{"e-staff8org", "f-staff8"}, "within and kind")
	as, err := s.ListAccounts(c, storage.AccountFilter{Within: []storage.Membership{m8}, After: "d", Limit: 1})
	must(t, err, "list staff page")
	equal(t, as[0].Memberships, []storage.Membership{m8, org}, "a paged staff account's memberships")
}

// testUpdatesLoseNothing: concurrent read-modify-write updates of one client
// and of one account each see the one before (the If-Match of the admin API
// relies on it): none is lost, whichever writer runs them.
func testUpdatesLoseNothing(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	errs := together(workers, func(int) error {
		return s.UpdateClient(c, f.client.ID, func(cl storage.Client) (storage.Client, error) {
			cl.AccessTokenTTL += time.Second
			return cl, nil
		})
	})
	for i, err := range errs {
		must(t, err, fmt.Sprint("concurrent client update ", i))
	}
	got, err := s.GetClient(c, f.client.ID)
	must(t, err, "get client")
	equal(t, got.AccessTokenTTL, f.client.AccessTokenTTL+workers*time.Second, "access token lifetime after concurrent updates")

	errs = together(workers, func(int) error {
		return s.UpdateAccount(c, f.guest.ID, func(a storage.Account) (storage.Account, error) {
			a.PrintedCardNumber += "1"
			return a, nil
		})
	})
	for i, err := range errs {
		must(t, err, fmt.Sprint("concurrent account update ", i))
	}
	a, err := s.GetAccount(c, f.guest.ID)
	must(t, err, "get account")
	equal(t, len(a.PrintedCardNumber), len(f.guest.PrintedCardNumber)+workers, "card number length after concurrent updates")
}
