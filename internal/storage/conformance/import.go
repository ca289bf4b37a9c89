package conformance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// testImport checks the bulk import (storage.Importer): rows are created,
// a second import of the same rows skips them all and changes nothing,
// Update replaces them (memberships too) and revokes an account whose
// hash changed, a username another account holds fails only its row, a
// missing merchant fails only its row, an id twice in one batch is written
// once, and DryRun writes nothing (an update's revocations included).
func testImport(t *testing.T, s storage.Storage) {
	c := ctx(t)
	orgs := []storage.Organization{{ID: "o-1", Name: "Org", CreatedAt: now}}
	res, err := s.ImportOrganizations(c, orgs, storage.ImportOptions{})
	must(t, err, "import organizations")
	equal(t, [3]int{res.Created, res.Updated, res.Skipped}, [3]int{1, 0, 0}, "organizations created, updated, skipped")
	merchants := []storage.Merchant{{ID: "m-1", Name: "One", OrganizationID: "o-1", CreatedAt: now},
		{ID: "m-2", Name: "Two", CreatedAt: now}, {ID: "m-3", Name: "Three", OrganizationID: "nope", CreatedAt: now}}
	res, err = s.ImportMerchants(c, merchants, storage.ImportOptions{})
	must(t, err, "import merchants")
	equal(t, [3]int{res.Created, res.Updated, res.Skipped}, [3]int{2, 0, 0}, "merchants created, updated, skipped")
	wantErr(t, res.Failed[2], storage.ErrNotFound, "merchant of an unknown organization")

	// 150 guests: more than one multi-row INSERT.
	var accounts []storage.Account
	for i := range 150 {
		accounts = append(accounts, storage.Account{ID: fmt.Sprintf("g-%03d", i), Kind: storage.Guest, MerchantID: "m-1",
			Username: fmt.Sprintf("Guest%03d", i), PasswordHash: "$2b$10$abcdefghijklmnopqrstuu" + fmt.Sprintf("%031d", i),
			PrintedCardNumber: fmt.Sprint(6000000 + i), CreatedAt: now})
	}
	staff := storage.Account{ID: "s-1", Kind: storage.Staff, Username: "boss@example.com", PasswordHash: "h1", CreatedAt: now,
		Memberships: []storage.Membership{{Type: storage.OwnerMerchant, ID: "m-1"}, {Type: storage.OwnerOrganization, ID: "o-1"}}}
	accounts = append(accounts, staff)
	dry, err := s.ImportAccounts(c, accounts, storage.ImportOptions{DryRun: true})
	must(t, err, "dry run")
	equal(t, dry.Created, len(accounts), "created by the dry run")
	_, err = s.GetAccount(c, "g-000")
	wantErr(t, err, storage.ErrNotFound, "account after a dry run")

	res, err = s.ImportAccounts(c, accounts, storage.ImportOptions{})
	must(t, err, "import accounts")
	equal(t, [4]int{res.Created, res.Updated, res.Skipped, len(res.Failed)}, [4]int{151, 0, 0, 0}, "accounts created, updated, skipped, failed")
	got, err := s.GetAccount(c, "g-149")
	must(t, err, "get imported guest")
	equal(t, got, accounts[149], "imported guest")
	got, err = s.GetAccount(c, "s-1")
	must(t, err, "get imported staff")
	equal(t, got, staff, "imported staff with memberships")

	// Again: everything skipped, nothing changed (the changed username
	// of an existing id is not applied without Update).
	again := append([]storage.Account(nil), accounts...)
	again[0].Username = "Renamed"
	res, err = s.ImportAccounts(c, again, storage.ImportOptions{})
	must(t, err, "import accounts again")
	equal(t, [4]int{res.Created, res.Updated, res.Skipped, len(res.Failed)}, [4]int{0, 0, 151, 0}, "second import")
	got, err = s.GetAccount(c, "g-000")
	must(t, err, "get guest after second import")
	equal(t, got, accounts[0], "guest after second import")

	// New rows beside old ones: a username held by another id fails that
	// row alone, as does a guest of an unknown merchant and a membership of
	// an unknown organization.
	batch := []storage.Account{
		{ID: "g-new", Kind: storage.Guest, MerchantID: "m-1", Username: "fresh", PasswordHash: "h", CreatedAt: now},
		{ID: "g-clash", Kind: storage.Guest, MerchantID: "m-1", Username: "GUEST005", PasswordHash: "h", CreatedAt: now},
		{ID: "g-other", Kind: storage.Guest, MerchantID: "m-2", Username: "guest005", PasswordHash: "h", CreatedAt: now},
		{ID: "g-lost", Kind: storage.Guest, MerchantID: "nope", Username: "lost", PasswordHash: "h", CreatedAt: now},
		{ID: "s-lost", Kind: storage.Staff, Username: "lost-staff", PasswordHash: "h", CreatedAt: now,
			Memberships: []storage.Membership{{Type: storage.OwnerOrganization, ID: "nope"}}},
		accounts[1],
	}
	res, err = s.ImportAccounts(c, batch, storage.ImportOptions{})
	must(t, err, "import with a clash")
	equal(t, [4]int{res.Created, res.Updated, res.Skipped, len(res.Failed)}, [4]int{2, 0, 1, 3}, "import with a clash")
	wantErr(t, res.Failed[1], storage.ErrAlreadyExists, "username of another id")
	wantErr(t, res.Failed[3], storage.ErrNotFound, "guest of an unknown merchant")
	wantErr(t, res.Failed[4], storage.ErrNotFound, "membership of an unknown organization")
	_, err = s.GetAccount(c, "g-clash")
	wantErr(t, err, storage.ErrNotFound, "the clashing row")
	_, err = s.GetAccount(c, "g-other")
	must(t, err, "the same username at another merchant")

	// An id given twice in one batch is written once: the first occurrence
	// (Update would take the last; see the clients below).
	dup := storage.Account{ID: "g-dup", Kind: storage.Guest, MerchantID: "m-1", Username: "dup-first", PasswordHash: "h", CreatedAt: now}
	dup2 := dup
	dup2.Username = "dup-second"
	res, err = s.ImportAccounts(c, []storage.Account{dup, dup2}, storage.ImportOptions{})
	must(t, err, "import an id twice")
	equal(t, [4]int{res.Created, res.Updated, res.Skipped, len(res.Failed)}, [4]int{1, 0, 1, 0}, "an id twice in one batch")
	got, err = s.GetAccount(c, "g-dup")
	must(t, err, "get the account given twice")
	equal(t, got, dup, "the account given twice: its first occurrence")

	// Update replaces: username, hash, card, memberships; the hash change
	// revokes what the account was issued.
	upd := staff
	upd.Username, upd.PasswordHash = "chief@example.com", "h2"
	upd.Memberships = []storage.Membership{{Type: storage.OwnerMerchant, ID: "m-2"}}
	guest := accounts[2]
	guest.PrintedCardNumber = "99"
	turned := accounts[3]
	turned.Kind, turned.MerchantID = storage.Staff, ""
	// A dry run of the update counts it and changes nothing, revoking nothing.
	dry, err = s.ImportAccounts(c, []storage.Account{upd, guest}, storage.ImportOptions{Update: true, DryRun: true, Now: now})
	must(t, err, "dry run of an update")
	equal(t, [2]int{dry.Updated, len(dry.Failed)}, [2]int{2, 0}, "updated by the dry run")
	got, err = s.GetAccount(c, "s-1")
	must(t, err, "get staff after a dry run of an update")
	equal(t, got, staff, "staff after a dry run of an update (nothing replaced or revoked)")
	res, err = s.ImportAccounts(c, []storage.Account{upd, guest, turned}, storage.ImportOptions{Update: true, Now: now})
	must(t, err, "update")
	equal(t, [4]int{res.Created, res.Updated, res.Skipped, len(res.Failed)}, [4]int{0, 2, 0, 1}, "update")
	if res.Failed[2] == nil || errors.Is(res.Failed[2], storage.ErrAlreadyExists) {
		t.Fatalf("a kind change: got %v, want a refusal", res.Failed[2])
	}
	got, err = s.GetAccount(c, "s-1")
	must(t, err, "get updated staff")
	if got.Username != upd.Username || got.PasswordHash != "h2" || !got.TokensRevokedAt.Equal(now) {
		t.Fatalf("updated staff: %+v", got)
	}
	equal(t, got.Memberships, upd.Memberships, "updated memberships")
	got, err = s.GetAccount(c, guest.ID)
	must(t, err, "get updated guest")
	equal(t, got, guest, "updated guest (same hash: nothing revoked)")
	got, err = s.GetAccount(c, turned.ID)
	must(t, err, "get guest whose kind an update tried to change")
	equal(t, got, accounts[3], "guest whose kind an update tried to change")

	// Clients keep their id and secret hash exactly; Update replaces them.
	cl := storage.Client{ID: "legacy-client-ID_1", Name: "Till", SecretHash: "keyed-hash", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"read"}, AccessTokenFormat: "opaque", AccountKind: storage.Staff, MerchantID: "m-1", CreatedAt: now}
	res, err = s.ImportClients(c, []storage.Client{cl}, storage.ImportOptions{})
	must(t, err, "import client")
	equal(t, res.Created, 1, "clients created")
	gotc, err := s.GetClient(c, cl.ID)
	must(t, err, "get imported client")
	equal(t, gotc, cl, "imported client")
	cl2 := cl
	cl2.SecretHash, cl2.Name = "other-hash", "Till 2"
	res, err = s.ImportClients(c, []storage.Client{cl2, cl2}, storage.ImportOptions{Update: true})
	must(t, err, "update client")
	equal(t, [2]int{res.Created, res.Updated}, [2]int{0, 2}, "client updated twice in one batch")
	gotc, err = s.GetClient(c, cl.ID)
	must(t, err, "get updated client")
	equal(t, gotc, cl2, "updated client")
}
