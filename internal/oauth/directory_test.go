package oauth

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// dirArgon2 keeps the tests quick; the directory's default is secrets.DefaultArgon2.
var dirArgon2 = secrets.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// dirNow is the directory's clock in these tests.
var dirNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// dirEnv is a directory over a real store holding merchants 777777 and
// m-2, organization o-1, guest johndoe of 777777 (id acc-john) and staff
// owner@example.com (id acc-owner).
type dirEnv struct {
	dir    *Directory
	store  storage.Storage
	keys   *secrets.Keys
	hashes int // how many times the slow password hash ran
}

// eachDirBackend runs fn against a fresh SQLite store and, when
// LATCHKEY_TEST_POSTGRES_DSN is set, a fresh PostgreSQL one.
func eachDirBackend(t *testing.T, fn func(t *testing.T, e *dirEnv)) {
	opts := sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)}
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "lk.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		fn(t, newDirEnv(t, st))
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.DSN(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		fn(t, newDirEnv(t, st))
	})
}

func newDirEnv(t *testing.T, st storage.Storage) *dirEnv {
	t.Helper()
	t.Cleanup(func() { st.Close() })
	keys, err := secrets.NewKeys([]byte(strings.Repeat("d", 32)))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := NewDirectory(DirectoryConfig{Store: st, Keys: keys, Argon2: dirArgon2, Dialects: testDialects,
		Now: func() time.Time { return dirNow }})
	if err != nil {
		t.Fatal(err)
	}
	e := &dirEnv{dir: dir, store: st, keys: keys}
	hash := dir.hash
	dir.hash = func(password string) (string, error) { e.hashes++; return hash(password) }

	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateOrganization(ctx, storage.Organization{ID: "o-1", Name: "Group"}))
	must(st.CreateMerchant(ctx, storage.Merchant{ID: "777777", Name: "Demo Loyalty"}))
	must(st.CreateMerchant(ctx, storage.Merchant{ID: "m-2", Name: "Two", OrganizationID: "o-1"}))
	_, err = dir.CreateAccount(ctx, storage.Account{ID: "acc-john", Kind: storage.Guest, MerchantID: "777777", Username: "johndoe"}, "open-sesame")
	must(err)
	_, err = dir.CreateAccount(ctx, storage.Account{ID: "acc-owner", Kind: storage.Staff, Username: "owner@example.com",
		Memberships: []storage.Membership{{Type: storage.OwnerMerchant, ID: "777777"}}}, "correct-horse")
	must(err)
	e.hashes = 0
	return e
}

// wantErr fails unless err's message contains want and err is each of is.
func wantErr(t *testing.T, err error, want string, is ...error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v; want one containing %q", err, want)
	}
	for _, target := range is {
		if !errors.Is(err, target) {
			t.Errorf("err %q is not %v", err, target)
		}
	}
}

func TestNewDirectory(t *testing.T) {
	if _, err := NewDirectory(DirectoryConfig{}); err == nil {
		t.Fatal("a directory without a store or keys was built")
	}
	// Zero Argon2 parameters mean the defaults.
	eachDirBackend(t, func(t *testing.T, e *dirEnv) {
		d, err := NewDirectory(DirectoryConfig{Store: e.store, Keys: e.keys})
		if err != nil {
			t.Fatal(err)
		}
		a, err := d.CreateAccount(t.Context(), storage.Account{Kind: storage.Staff, Username: "defaults"}, "long-enough")
		if err != nil {
			t.Fatal(err)
		}
		stored, err := e.store.GetAccount(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, rehash, err := secrets.VerifyPassword(stored.PasswordHash, "long-enough", secrets.DefaultArgon2); err != nil || rehash {
			t.Fatalf("hash %q is not made with the default parameters (err %v)", stored.PasswordHash, err)
		}

		// OnPasswordCheck hears each new password's hashing start and end.
		var heard []bool
		d, err = NewDirectory(DirectoryConfig{Store: e.store, Keys: e.keys, Argon2: dirArgon2,
			OnPasswordCheck: func(running bool) { heard = append(heard, running) }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateAccount(t.Context(), storage.Account{Kind: storage.Staff, Username: "hooked"}, "long-enough"); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(heard, []bool{true, false}) {
			t.Fatalf("password hook heard %v, want a start and an end", heard)
		}
	})
}

func TestDirectoryCreateAccount(t *testing.T) {
	guest := func(username string) storage.Account {
		return storage.Account{Kind: storage.Guest, MerchantID: "777777", Username: username}
	}
	staff := func(username string, members ...string) storage.Account {
		a := storage.Account{Kind: storage.Staff, Username: username}
		for _, m := range members {
			a.Memberships = append(a.Memberships, ParseMembership(m))
		}
		return a
	}
	with := func(a storage.Account, edit func(*storage.Account)) storage.Account { edit(&a); return a }
	const pw = "long-enough"
	// Cases run in order against one store; those that succeed use fresh usernames.
	cases := []struct {
		name     string
		account  storage.Account
		password string
		want     string  // in the error; empty for success
		is       []error // the error is each of these
		hashes   int     // slow hashes computed
	}{
		{name: "guest", account: with(guest("janedoe"), func(a *storage.Account) { a.PrintedCardNumber = "6000986775" }), password: pw, hashes: 1},
		{name: "guest of another merchant may share a username", account: with(guest("johndoe"), func(a *storage.Account) { a.MerchantID = "m-2" }), password: pw, hashes: 1},
		{name: "staff", account: staff("manager@example.com", "merchant:777777", "organization:o-1"), password: pw, hashes: 1},
		{name: "staff may share a guest's username", account: staff("johndoe"), password: pw, hashes: 1},
		{name: "given id", account: with(guest("withid"), func(a *storage.Account) { a.ID = "acc-given" }), password: pw, hashes: 1},

		{name: "unknown kind", account: with(guest("x"), func(a *storage.Account) { a.Kind = "robot" }), password: pw,
			want: `--kind "robot" must be guest or staff`, is: []error{ErrRejected}},
		{name: "guest without merchant", account: with(guest("x"), func(a *storage.Account) { a.MerchantID = "" }), password: pw,
			want: "a guest account needs --merchant", is: []error{ErrRejected}},
		{name: "guest with membership", account: with(guest("x"), func(a *storage.Account) { a.Memberships = staff("", "merchant:777777").Memberships }),
			password: pw, want: "--member is for staff accounts", is: []error{ErrRejected}},
		{name: "staff with merchant", account: with(staff("x"), func(a *storage.Account) { a.MerchantID = "777777" }), password: pw,
			want: "--merchant is for guest accounts", is: []error{ErrRejected}},
		{name: "staff with card", account: with(staff("x"), func(a *storage.Account) { a.PrintedCardNumber = "1" }), password: pw,
			want: "--card is for guest accounts", is: []error{ErrRejected}},
		{name: "empty username", account: guest(""), password: pw, want: `--username "" must be 1 to 256`, is: []error{ErrRejected}},
		{name: "username with surrounding space", account: guest(" x"), password: pw, want: `--username " x" must be`, is: []error{ErrRejected}},
		{name: "username with control character", account: guest("x\ty"), password: pw, want: "--username", is: []error{ErrRejected}},
		{name: "username too long", account: guest(strings.Repeat("u", 257)), password: pw, want: "must be 1 to 256 characters", is: []error{ErrRejected}},
		{name: "id with space", account: with(guest("x"), func(a *storage.Account) { a.ID = "a b" }), password: pw,
			want: `--id "a b" must be 1 to 255 characters`, is: []error{ErrRejected}},
		{name: "merchant id with colon", account: with(guest("x"), func(a *storage.Account) { a.MerchantID = "m:1" }), password: pw,
			want: `--merchant "m:1" must be`, is: []error{ErrRejected}},
		{name: "card with space", account: with(guest("x"), func(a *storage.Account) { a.PrintedCardNumber = "1 2" }), password: pw,
			want: `--card "1 2" must be at most 64 characters`, is: []error{ErrRejected}},
		{name: "card too long", account: with(guest("x"), func(a *storage.Account) { a.PrintedCardNumber = strings.Repeat("1", 65) }), password: pw,
			want: "--card", is: []error{ErrRejected}},
		{name: "membership without id", account: staff("x", "foo"), password: pw, want: `--member "foo" must be merchant:ID or organization:ID`, is: []error{ErrRejected}},
		{name: "membership with empty id", account: staff("x", "merchant:"), password: pw, want: `--member "merchant:" must be`, is: []error{ErrRejected}},
		{name: "membership of unknown type", account: staff("x", "guest:1"), password: pw, want: `--member "guest:1" must be`, is: []error{ErrRejected}},
		{name: "membership id with colon", account: staff("x", "merchant:a:b"), password: pw, want: `--member merchant "a:b" must be`, is: []error{ErrRejected}},
		{name: "membership given twice", account: staff("x", "merchant:777777", "merchant:777777"), password: pw,
			want: `--member "merchant:777777" is given twice`, is: []error{ErrRejected}},
		{name: "password too short", account: staff("x"), password: "1234567", want: "the password must be 8 to 1024 bytes long", is: []error{ErrRejected}},
		{name: "password too long", account: staff("x"), password: strings.Repeat("p", MaxPassword+1), want: "must be 8 to 1024 bytes", is: []error{ErrRejected}},

		// Checks that read the database, all before the slow hash.
		{name: "unknown merchant", account: with(guest("x"), func(a *storage.Account) { a.MerchantID = "nope" }), password: pw,
			want: `merchant "nope" not found`, is: []error{storage.ErrNotFound}},
		{name: "unknown organization", account: staff("x", "merchant:777777", "organization:nope"), password: pw,
			want: `organization "nope" not found`, is: []error{storage.ErrNotFound}},
		{name: "guest username taken", account: guest("JohnDoe"), password: pw,
			want: `account "JohnDoe" already exists for merchant "777777"`, is: []error{storage.ErrAlreadyExists}},
		{name: "staff username taken", account: staff("OWNER@example.com"), password: pw,
			want: `staff account "OWNER@example.com" already exists`, is: []error{storage.ErrAlreadyExists}},
		{name: "id taken", account: with(guest("fresh"), func(a *storage.Account) { a.ID = "acc-john" }), password: pw,
			want: `account "acc-john" already exists`, is: []error{storage.ErrAlreadyExists}},
	}
	eachDirBackend(t, func(t *testing.T, e *dirEnv) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				e.hashes = 0
				got, err := e.dir.CreateAccount(ctx, tc.account, tc.password)
				if e.hashes != tc.hashes {
					t.Errorf("the password was hashed %d times; want %d", e.hashes, tc.hashes)
				}
				if tc.want != "" {
					wantErr(t, err, tc.want, tc.is...)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.PasswordHash != "" {
					t.Error("CreateAccount returned the password hash")
				}
				if tc.account.ID == "" && !strings.HasPrefix(got.ID, "acc_") || tc.account.ID != "" && got.ID != tc.account.ID {
					t.Errorf("id %q for given id %q", got.ID, tc.account.ID)
				}
				stored, err := e.store.GetAccount(ctx, got.ID)
				if err != nil {
					t.Fatal(err)
				}
				if ok, _, err := secrets.VerifyPassword(stored.PasswordHash, tc.password, dirArgon2); !ok || err != nil {
					t.Errorf("stored hash does not verify the password: %v", err)
				}
				if !stored.CreatedAt.Equal(dirNow) || stored.Username != tc.account.Username || stored.Kind != tc.account.Kind ||
					stored.MerchantID != tc.account.MerchantID || len(stored.Memberships) != len(tc.account.Memberships) ||
					stored.PrintedCardNumber != tc.account.PrintedCardNumber {
					t.Errorf("stored %+v; created from %+v", stored, tc.account)
				}
			})
		}
	})
}

func TestDirectorySetPassword(t *testing.T) {
	eachDirBackend(t, func(t *testing.T, e *dirEnv) {
		ctx := t.Context()
		verifies := func(password string) bool {
			t.Helper()
			a, err := e.store.GetAccount(ctx, "acc-john")
			if err != nil {
				t.Fatal(err)
			}
			ok, _, err := secrets.VerifyPassword(a.PasswordHash, password, dirArgon2)
			return ok && err == nil
		}
		cases := []struct {
			name, id, password string
			want               string
			is                 error
			hashes             int
		}{
			{name: "too short", id: "acc-john", password: "short", want: "must be 8 to 1024 bytes", is: ErrRejected},
			{name: "unknown account", id: "nope", password: "new-password", want: `account "nope" not found`, is: storage.ErrNotFound},
			{name: "set", id: "acc-john", password: "new-password", hashes: 1},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.hashes = 0
				err := e.dir.SetPassword(ctx, tc.id, tc.password)
				if e.hashes != tc.hashes {
					t.Errorf("the password was hashed %d times; want %d", e.hashes, tc.hashes)
				}
				if tc.want != "" {
					wantErr(t, err, tc.want, tc.is)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !verifies(tc.password) || verifies("open-sesame") {
					t.Error("the new password does not replace the old one")
				}
			})
		}
	})
}

func TestDirectoryAccounts(t *testing.T) {
	eachDirBackend(t, func(t *testing.T, e *dirEnv) {
		ctx := t.Context()
		a, err := e.dir.Account(ctx, "acc-owner")
		if err != nil || a.Username != "owner@example.com" || a.PasswordHash != "" || len(a.Memberships) != 1 {
			t.Fatalf("Account: %+v %v", a, err)
		}
		_, err = e.dir.Account(ctx, "nope")
		wantErr(t, err, `account "nope" not found`, storage.ErrNotFound)

		for _, tc := range []struct {
			filter storage.AccountFilter
			want   []string
		}{
			{storage.AccountFilter{}, []string{"johndoe", "owner@example.com"}},
			{storage.AccountFilter{Kind: storage.Guest}, []string{"johndoe"}},
			{storage.AccountFilter{Kind: storage.Staff}, []string{"owner@example.com"}},
			{storage.AccountFilter{MerchantID: "m-2"}, nil},
		} {
			as, err := e.dir.ListAccounts(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range as {
				if a.PasswordHash != "" {
					t.Errorf("ListAccounts returned the hash of %q", a.Username)
				}
				names = append(names, a.Username)
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ListAccounts(%+v) = %v; want %v", tc.filter, names, tc.want)
			}
		}
		_, err = e.dir.ListAccounts(ctx, storage.AccountFilter{Kind: "robot"})
		wantErr(t, err, `--kind "robot" must be guest or staff`, ErrRejected)

		if err := e.dir.DeleteAccount(ctx, "acc-john"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.dir.DeleteAccount(ctx, "acc-john"), `account "acc-john" not found`, storage.ErrNotFound)
	})
}

func TestDirectoryCreateClient(t *testing.T) {
	base := storage.Client{Name: "App", GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"a", "b"},
		DefaultScopes: []string{"a"}, AccountKind: storage.Guest, RotateRefresh: true}
	with := func(edit func(*storage.Client)) storage.Client {
		c := base
		edit(&c)
		return c
	}
	cases := []struct {
		name   string
		client storage.Client
		public bool
		// rotate and ccRefresh are the registration's choices; nil takes the dialect's default.
		rotate, ccRefresh *bool
		want              string
		is                []error
		check             func(t *testing.T, c storage.Client)
	}{
		{name: "confidential with generated id", client: base, check: func(t *testing.T, c storage.Client) {
			if !strings.HasPrefix(c.ID, "lkc_") {
				t.Errorf("id %q", c.ID)
			}
		}},
		{name: "repeated values dropped", client: with(func(c *storage.Client) {
			c.ID, c.GrantTypes, c.Scopes = "dedupe", []string{GrantClientCredentials, GrantClientCredentials}, []string{"a", "b", "a"}
		}), check: func(t *testing.T, c storage.Client) {
			if len(c.GrantTypes) != 1 || strings.Join(c.Scopes, " ") != "a b" {
				t.Errorf("grants %v, scopes %v", c.GrantTypes, c.Scopes)
			}
		}},
		{name: "public requires PKCE and has no secret", public: true, client: with(func(c *storage.Client) {
			c.ID, c.GrantTypes, c.AccountKind, c.SecretHash = "spa", []string{GrantAuthorizationCode}, storage.Staff, "ignored"
			c.RedirectURIs = []string{"http://127.0.0.1:8080/callback"}
		}), check: func(t *testing.T, c storage.Client) {
			if !c.Public() || !c.RequirePKCE {
				t.Errorf("public %v, require PKCE %v", c.Public(), c.RequirePKCE)
			}
		}},
		{name: "bound to a merchant", client: with(func(c *storage.Client) { c.ID, c.MerchantID = "pos-app", "777777" })},
		{name: "audience with JWT", client: with(func(c *storage.Client) { c.Audience, c.AccessTokenFormat = "https://api.example", "jwt" })},
		{name: "known dialect", client: with(func(c *storage.Client) { c.Dialect = "paytronix" })},
		{name: "standard client rotates by default", client: with(func(c *storage.Client) {
			c.ID, c.GrantTypes, c.RotateRefresh = "std", []string{GrantClientCredentials, GrantRefreshToken}, false
		}), check: func(t *testing.T, c storage.Client) {
			if !c.RotateRefresh || c.ClientCredentialsRefresh {
				t.Errorf("rotate %v, client_credentials refresh %v; want true, false", c.RotateRefresh, c.ClientCredentialsRefresh)
			}
		}},
		{name: "dialect keeps refresh tokens by default", client: with(func(c *storage.Client) {
			c.ID, c.Dialect, c.RotateRefresh = "keeper", "paytronix", true
		}), check: func(t *testing.T, c storage.Client) {
			if c.RotateRefresh {
				t.Error("a client of a dialect that keeps refresh tokens rotates them")
			}
		}},
		{name: "dialect default overridden", rotate: ptr(true), client: with(func(c *storage.Client) { c.ID, c.Dialect = "rotator", "paytronix" }),
			check: func(t *testing.T, c storage.Client) {
				if !c.RotateRefresh {
					t.Error("a client registered to rotate does not")
				}
			}},
		{name: "dialect's client_credentials refresh", client: with(func(c *storage.Client) {
			c.ID, c.Dialect, c.GrantTypes = "ccr", "flexiti", []string{GrantClientCredentials, GrantRefreshToken}
		}), check: func(t *testing.T, c storage.Client) {
			if !c.ClientCredentialsRefresh || !c.RotateRefresh {
				t.Errorf("client_credentials refresh %v, rotate %v; want both", c.ClientCredentialsRefresh, c.RotateRefresh)
			}
		}},
		{name: "dialect's client_credentials refresh needs the refresh grant", client: with(func(c *storage.Client) { c.ID, c.Dialect = "ccr-none", "flexiti" }),
			check: func(t *testing.T, c storage.Client) {
				if c.ClientCredentialsRefresh {
					t.Error("client_credentials refresh set for a client without the refresh_token grant")
				}
			}},
		{name: "client_credentials refresh chosen without the grant", ccRefresh: ptr(true), client: base,
			want: "client_credentials refresh tokens need both", is: []error{ErrRejected}},
		{name: "resource server", client: with(func(c *storage.Client) { c.ID, c.Introspect = "rs", true }),
			check: func(t *testing.T, c storage.Client) {
				if !c.Introspect {
					t.Error("the introspect permission was not stored")
				}
			}},
		{name: "public resource server", public: true, client: with(func(c *storage.Client) {
			c.GrantTypes, c.AccountKind, c.Introspect = []string{GrantAuthorizationCode}, storage.Staff, true
			c.RedirectURIs = []string{"http://127.0.0.1:8080/callback"}
		}), want: "--introspect is for confidential clients", is: []error{ErrRejected}},

		{name: "blank name", client: with(func(c *storage.Client) { c.Name = " " }), want: "--name must be 1 to 255 characters", is: []error{ErrRejected}},
		{name: "bad id", client: with(func(c *storage.Client) { c.ID = "a b" }), want: `client id "a b" must be`, is: []error{ErrRejected}},
		{name: "public with client_credentials", public: true, client: base,
			want: "a public client cannot use the client_credentials grant", is: []error{ErrRejected}},
		{name: "audience without JWT", client: with(func(c *storage.Client) { c.Audience = "https://api.example" }),
			want: "an audience is only for clients with JWT access tokens", is: []error{ErrRejected}},
		{name: "unknown dialect", client: with(func(c *storage.Client) { c.Dialect = "acme" }), want: `dialect "acme" is unknown (known: flexiti, paytronix)`, is: []error{ErrRejected}},
		{name: "unsupported grant", client: with(func(c *storage.Client) { c.GrantTypes = []string{"implicit"} }),
			want: `grant type "implicit" is not supported`, is: []error{ErrRejected}},
		{name: "guests without merchant", client: with(func(c *storage.Client) { c.GrantTypes = []string{GrantPassword} }),
			want: "a client that logs in guests must be bound to a merchant", is: []error{ErrRejected, ErrClientNeedsMerchant}},
		{name: "unknown merchant", client: with(func(c *storage.Client) { c.MerchantID = "nope" }), want: `merchant "nope" not found`, is: []error{storage.ErrNotFound}},
		{name: "id taken", client: with(func(c *storage.Client) { c.ID = "pos-app" }), want: `client "pos-app" already exists`, is: []error{storage.ErrAlreadyExists}},
	}
	eachDirBackend(t, func(t *testing.T, e *dirEnv) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				got, secret, err := e.dir.CreateClient(ctx, tc.client, ClientChoices{Public: tc.public, RotateRefresh: tc.rotate, ClientCredentialsRefresh: tc.ccRefresh})
				if tc.want != "" {
					wantErr(t, err, tc.want, tc.is...)
					if errors.Is(err, ErrClientNeedsMerchant) != slices.Contains(tc.is, ErrClientNeedsMerchant) {
						t.Errorf("err %q: ErrClientNeedsMerchant is %v", err, errors.Is(err, ErrClientNeedsMerchant))
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				stored, err := e.store.GetClient(ctx, got.ID)
				if err != nil {
					t.Fatal(err)
				}
				if tc.public {
					if secret != "" || stored.SecretHash != "" {
						t.Errorf("public client got secret %q, hash %q", secret, stored.SecretHash)
					}
				} else if !strings.HasPrefix(secret, "lk_cs_") || !e.keys.VerifyClientSecret(stored.SecretHash, secret) {
					t.Errorf("secret %q does not verify against the stored hash", secret)
				}
				if !stored.CreatedAt.Equal(dirNow) || stored.Name != tc.client.Name || stored.RequirePKCE != got.RequirePKCE {
					t.Errorf("stored %+v", stored)
				}
				if tc.check != nil {
					tc.check(t, stored)
				}
			})
		}
	})
}

func TestCheckClientNeedsMerchant(t *testing.T) {
	// Only a guest client is told to bind a merchant; one with another
	// problem as well is told that problem alone.
	c := storage.Client{Name: "x", GrantTypes: []string{GrantPassword}, AccountKind: storage.Guest}
	if err := CheckClient(c, ClientChoices{}, nil); !errors.Is(err, ErrClientNeedsMerchant) {
		t.Errorf("guest client without merchant: %v", err)
	}
	c.GrantTypes = []string{GrantPassword, "implicit"}
	if err := CheckClient(c, ClientChoices{}, nil); err == nil || errors.Is(err, ErrClientNeedsMerchant) {
		t.Errorf("guest client with a bad grant too: %v", err)
	}
}

func TestDirectoryRotateClientSecret(t *testing.T) {
	eachDirBackend(t, func(t *testing.T, e *dirEnv) {
		ctx := t.Context()
		conf, old, err := e.dir.CreateClient(ctx, storage.Client{ID: "conf", Name: "Conf", GrantTypes: []string{GrantClientCredentials}}, ClientChoices{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.dir.CreateClient(ctx, storage.Client{ID: "spa", Name: "SPA", GrantTypes: []string{GrantAuthorizationCode},
			AccountKind: storage.Staff}, ClientChoices{Public: true}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, id string
			want     string
			is       error
		}{
			{name: "confidential", id: conf.ID},
			{name: "public", id: "spa", want: `client "spa" is public: it has no secret to rotate`, is: ErrRejected},
			{name: "unknown", id: "nope", want: `client "nope" not found`, is: storage.ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c, secret, err := e.dir.RotateClientSecret(ctx, tc.id)
				if tc.want != "" {
					wantErr(t, err, tc.want, tc.is)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				stored, err := e.store.GetClient(ctx, tc.id)
				if err != nil {
					t.Fatal(err)
				}
				if c.ID != tc.id || secret == old || !e.keys.VerifyClientSecret(stored.SecretHash, secret) || e.keys.VerifyClientSecret(stored.SecretHash, old) {
					t.Error("the new secret does not replace the old one")
				}
			})
		}
		if err := e.dir.DeleteClient(ctx, "spa"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.dir.DeleteClient(ctx, "spa"), `client "spa" not found`, storage.ErrNotFound)
		_, err = e.dir.Client(ctx, "spa")
		wantErr(t, err, `client "spa" not found`, storage.ErrNotFound)
	})
}

func TestDirectoryMerchantsAndOrganizations(t *testing.T) {
	eachDirBackend(t, func(t *testing.T, e *dirEnv) {
		ctx := t.Context()
		for _, tc := range []struct {
			name     string
			merchant storage.Merchant
			want     string
			is       error
		}{
			{name: "created", merchant: storage.Merchant{ID: "m-3", Name: "Three", OrganizationID: "o-1"}},
			{name: "bad id", merchant: storage.Merchant{ID: "m 4", Name: "Four"}, want: `--id "m 4" must be`, is: ErrRejected},
			{name: "blank name", merchant: storage.Merchant{ID: "m-4", Name: " "}, want: "--name must be", is: ErrRejected},
			{name: "bad organization id", merchant: storage.Merchant{ID: "m-4", Name: "Four", OrganizationID: "o:1"}, want: `--organization "o:1" must be`, is: ErrRejected},
			{name: "unknown organization", merchant: storage.Merchant{ID: "m-4", Name: "Four", OrganizationID: "nope"}, want: `organization "nope" not found`, is: storage.ErrNotFound},
			{name: "id taken", merchant: storage.Merchant{ID: "777777", Name: "Again"}, want: `merchant "777777" already exists`, is: storage.ErrAlreadyExists},
		} {
			t.Run("merchant "+tc.name, func(t *testing.T) {
				m, err := e.dir.CreateMerchant(ctx, tc.merchant)
				if tc.want != "" {
					wantErr(t, err, tc.want, tc.is)
					return
				}
				if err != nil || !m.CreatedAt.Equal(dirNow) {
					t.Fatalf("CreateMerchant: %+v %v", m, err)
				}
				if got, err := e.dir.Merchant(ctx, m.ID); err != nil || got.OrganizationID != "o-1" || !got.CreatedAt.Equal(dirNow) {
					t.Fatalf("Merchant: %+v %v", got, err)
				}
			})
		}
		if _, err := e.dir.CreateOrganization(ctx, storage.Organization{ID: "o-2", Name: "Other"}); err != nil {
			t.Fatal(err)
		}
		_, err := e.dir.CreateOrganization(ctx, storage.Organization{ID: "o-2", Name: "Other"})
		wantErr(t, err, `organization "o-2" already exists`, storage.ErrAlreadyExists)
		_, err = e.dir.CreateOrganization(ctx, storage.Organization{ID: "o-3", Name: ""})
		wantErr(t, err, "--name must be", ErrRejected)

		wantErr(t, e.dir.DeleteMerchant(ctx, "777777"), `merchant "777777" still has guest accounts, clients or staff members; delete them first`, storage.ErrInUse)
		wantErr(t, e.dir.DeleteOrganization(ctx, "o-1"), `organization "o-1" still has merchants, staff members or clients bound to it; delete them first`, storage.ErrInUse)
		wantErr(t, e.dir.DeleteMerchant(ctx, "nope"), `merchant "nope" not found`, storage.ErrNotFound)
		wantErr(t, e.dir.DeleteOrganization(ctx, "nope"), `organization "nope" not found`, storage.ErrNotFound)
		_, err = e.dir.Merchant(ctx, "nope")
		wantErr(t, err, `merchant "nope" not found`, storage.ErrNotFound)
		_, err = e.dir.Organization(ctx, "nope")
		wantErr(t, err, `organization "nope" not found`, storage.ErrNotFound)

		if err := e.dir.DeleteOrganization(ctx, "o-2"); err != nil {
			t.Fatal(err)
		}
		orgs, err := e.dir.ListOrganizations(ctx)
		if err != nil || len(orgs) != 1 || orgs[0].ID != "o-1" {
			t.Fatalf("ListOrganizations: %v %v", orgs, err)
		}
		ms, err := e.dir.ListMerchants(ctx)
		if err != nil || len(ms) != 3 {
			t.Fatalf("ListMerchants: %v %v", ms, err)
		}
	})
}

// testDialects are two dialects with the defaults the registry gives them.
var testDialects = map[string]ClientDefaults{"paytronix": {KeepRefreshTokens: true}, "flexiti": {ClientCredentialsRefresh: true}}

func ptr[T any](v T) *T { return &v }
