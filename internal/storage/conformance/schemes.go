package conformance

import (
	"fmt"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// testCountPasswordSchemes checks the count by scheme, and that the store
// names each hash's scheme as secrets.PasswordScheme does.
func testCountPasswordSchemes(t *testing.T, s storage.Storage) {
	c := ctx(t)
	got, err := s.CountPasswordSchemes(c)
	must(t, err, "count on an empty store")
	equal(t, got, map[string]int64{}, "counts on an empty store")

	f := newFixture()
	f.createOwners(t, s) // one argon2id guest
	hashes := []string{
		"$2a$10$x", "$2b$12$x", "$2y$08$x", // bcrypt
		"$pbkdf2$1000$x$y", "pbkdf2_sha1$1000$x$y",
		"$pbkdf2-sha256$29000$x$y", "pbkdf2_sha256$870000$x$y", "$pbkdf2-sha256$i=1,l=32$x$y",
		"$pbkdf2-sha512$25000$x$y",
		"$scrypt$ln=16,r=8,p=1$x$y",
		"$argon2i$v=19$m=1,t=1,p=1$x$y", "$argon2id$v=19$m=1,t=1,p=1$x$y",
		"$sha256-salted$o=sp$x$y", "$sha512-salted$o=ps$x$y",
		"", "{SSHA}x", "$argon2d$v=19$x", "pbkdf2_sha512$1$x$y", "$2x$10$x", "PBKDF2_SHA256$1$x$y", "$pbkdf2-sha256x",
		"$arg", "$pbk", "pbkd", "$scr", "$sha", "$sha384-salted$x", "$scrypt", "$argon2", "$2b", "$pbkdf2-sha1$x",
	}
	want := map[string]int64{"argon2id": 1}
	for i, h := range hashes {
		scheme, err := secrets.PasswordScheme(h)
		switch {
		case h == "":
			scheme = "none"
		case err != nil:
			scheme = "other"
		}
		want[scheme]++
		a := storage.Account{ID: fmt.Sprint("scheme-", i), Kind: storage.Guest, MerchantID: f.merchant.ID,
			Username: fmt.Sprint("scheme", i), PasswordHash: h, CreatedAt: now}
		must(t, s.CreateAccount(c, a), "create account")
	}
	got, err = s.CountPasswordSchemes(c)
	must(t, err, "count")
	equal(t, got, want, "counts by scheme")
	if got["bcrypt"] != 3 || got["pbkdf2-sha256"] != 3 || got["other"] != 16 {
		t.Fatalf("counts %v: the classification itself is off", got) // guards want's derivation too
	}

	// An upgrade moves the account from its legacy scheme to argon2id.
	must(t, s.UpdateAccount(c, "scheme-0", func(a storage.Account) (storage.Account, error) {
		a.PasswordHash = f.guest.PasswordHash
		return a, nil
	}), "upgrade")
	got, err = s.CountPasswordSchemes(c)
	must(t, err, "count after upgrade")
	if got["bcrypt"] != 2 || got["argon2id"] != want["argon2id"]+1 {
		t.Fatalf("after an upgrade: %v", got)
	}
}
