package secrets

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// LegacyVector is a hash made by an independent implementation
// (testdata/gen_vectors.mjs and .py), with its right password.
type LegacyVector struct {
	Scheme    string `json:"scheme"`
	Hash      string `json:"hash"`
	Password  string `json:"password"`
	Weak      bool   `json:"weak"`
	Generator string `json:"generator"`
	Salted    *struct {
		Alg, Salt, Order, Hex string
	} `json:"salted"`
}

func legacyVectors(t *testing.T) []LegacyVector {
	t.Helper()
	b, err := os.ReadFile("testdata/legacy_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []LegacyVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	// Every legacy scheme is covered, so a scheme cannot silently lose its test.
	seen := map[string]bool{}
	for _, v := range vs {
		seen[v.Scheme] = true
	}
	for _, s := range Schemes {
		if !seen[s] {
			t.Errorf("no vector for scheme %s", s)
		}
	}
	return vs
}

// wrongPassword differs from p in its first byte, so it is wrong for bcrypt
// too, which reads only the first 72 bytes.
func wrongPassword(p string) string { return "X" + p[1:] }

func TestLegacyVectors(t *testing.T) {
	for _, v := range legacyVectors(t) {
		t.Run(v.Scheme+"/"+v.Password, func(t *testing.T) {
			scheme, err := PasswordScheme(v.Hash)
			if err != nil || scheme != v.Scheme {
				t.Fatalf("PasswordScheme = %q, %v; want %q", scheme, err, v.Scheme)
			}
			ok, rehash, err := VerifyPassword(v.Hash, v.Password, fastArgon2)
			if err != nil || !ok || !rehash {
				t.Fatalf("right password (%s): ok=%v rehash=%v err=%v, want ok and rehash", v.Generator, ok, rehash, err)
			}
			ok, _, err = VerifyPassword(v.Hash, wrongPassword(v.Password), fastArgon2)
			if err != nil || ok {
				t.Fatalf("wrong password: ok=%v err=%v, want refused", ok, err)
			}
			if _, _, err = VerifyPassword(v.Hash, v.Password+"!", fastArgon2); err != nil {
				t.Fatal(err)
			}

			scheme, err = CheckImportedHash(v.Hash, nil)
			if v.Weak {
				if !errors.Is(err, ErrWeakHash) || !strings.Contains(err.Error(), v.Scheme) {
					t.Fatalf("CheckImportedHash of a weak %s hash: %v, want ErrWeakHash naming the scheme", v.Scheme, err)
				}
				assertNoHash(t, err, v.Hash)
				if scheme, err = CheckImportedHash(v.Hash, []string{"bcrypt", v.Scheme}); err != nil || scheme != v.Scheme {
					t.Fatalf("CheckImportedHash allowing %s: %q, %v", v.Scheme, scheme, err)
				}
			} else if err != nil || scheme != v.Scheme {
				t.Fatalf("CheckImportedHash = %q, %v; want %q", scheme, err, v.Scheme)
			}

			if s := v.Salted; s != nil {
				h, err := SaltedSHAHash(s.Alg, s.Order == "sp", s.Salt, s.Hex)
				if err != nil || h != v.Hash {
					t.Fatalf("SaltedSHAHash = %q, %v; want %q", h, err, v.Hash)
				}
				// Upper-case hex and "SHA-256" are what some exports write.
				alg := strings.ToUpper(s.Alg[:3]) + "-" + s.Alg[3:]
				if h2, err := SaltedSHAHash(alg, s.Order == "sp", s.Salt, strings.ToUpper(s.Hex)); h2 != h {
					t.Fatalf("%s, upper-case hex gives %q, %v; want %q", alg, h2, err, h)
				}
			}
		})
	}
}

func TestLegacyNativeNotRehashed(t *testing.T) {
	h, err := HashPassword("native", fastArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := PasswordScheme(h); s != SchemeArgon2id || err != nil {
		t.Fatalf("PasswordScheme(native) = %q, %v", s, err)
	}
	if s, err := CheckImportedHash(h, nil); !errors.Is(err, ErrWeakHash) || s != SchemeArgon2id {
		t.Fatalf("CheckImportedHash(m=64 argon2id) = %q, %v; want weak", s, err)
	}
	h, _ = HashPassword("native", DefaultArgon2)
	if s, err := CheckImportedHash(h, nil); s != SchemeArgon2id || err != nil {
		t.Fatalf("CheckImportedHash(default argon2id) = %q, %v", s, err)
	}
	if ok, rehash, err := VerifyPassword(h, "native", DefaultArgon2); !ok || rehash || err != nil {
		t.Fatalf("native hash: ok=%v rehash=%v err=%v, want ok, no rehash", ok, rehash, err)
	}
	// A legacy hash with a wrong password asks for no rehash.
	if ok, rehash, err := VerifyPassword("$2a$04$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e", "nope", DefaultArgon2); ok || rehash || err != nil {
		t.Fatalf("wrong password on bcrypt: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
}

func assertNoHash(t *testing.T, err error, hash string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	// The hash, and any of its secret-bearing fields (salt, key), must not leak.
	if hash != "" && strings.Contains(msg, hash) {
		t.Fatalf("error %q contains the hash", msg)
	}
	fields := strings.Split(hash, "$")
	for _, f := range fields[max(0, len(fields)-2):] {
		if len(f) >= 8 && strings.Contains(msg, f) {
			t.Fatalf("error %q contains the hash field %q", msg, f)
		}
	}
}

func TestLegacyMalformed(t *testing.T) {
	const salt, key = "AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	for _, c := range []struct{ hash, want string }{
		{"", "empty"},
		{"plaintextpassword", "accepted: bcrypt"},
		{"{SSHA}abcdefghijklmnopqrstuvwxyz", "unknown format"},
		{"$argon2d$v=19$m=65536,t=3,p=1$" + salt + "$" + key, "argon2d is not supported"},
		{"$argon2i$v=16$m=65536,t=3,p=1$" + salt + "$" + key, "version 16"},
		{"$argon2i$m=65536,t=3,p=1$" + salt + "$" + key, "version 16"},
		{"$argon2i$v=19$m=65536,t=3$" + salt + "$" + key, "parameters are not m=,t=,p="},
		{"$argon2i$v=19$m=65536,t=3,p=1$" + salt + "$!!!", "hash is not base64"},
		{"$argon2i$v=19$m=65536,t=3,p=1$c2FsdA$" + key, "under 8 bytes"},
		{"$argon2i$v=19$m=65536,t=3,p=1$" + salt + "$AAEC", "hash is 3 bytes"},
		{"$2b$10$tooShort", "not $2b$CC$"},
		{"$2b$1x$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e", "cost is not two digits"},
		{"$2b$03$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e", "cost 3 is not 4 to 14"},
		{"$2b$10$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1!", "not bcrypt base64"},
		{"$pbkdf2-sha256$many$" + salt + "$" + key, "rounds are not a number"},
		{"$pbkdf2-sha256$0$" + salt + "$" + key, "iterations 0 are not 1 to"},
		{"$pbkdf2-sha256$29000$" + salt, "not $pbkdf2"},
		{"$pbkdf2-sha256$i=29000,l=16$" + salt + "$" + key, "l=16 but the hash is 32 bytes"},
		{"$pbkdf2-sha256$l=32,i=29000$" + salt + "$" + key, "rounds are not a number"},
		{"$pbkdf2-sha256$i=x$" + salt + "$" + key, "parameter i is not a number"},
		{"$pbkdf2-sha256$29000$$" + key, "salt is not 1 to"},
		{"pbkdf2_sha256$x$salt$" + key, "iterations are not a number"},
		{"pbkdf2_sha256$10000$salt$" + key, "hash is not base64"}, // Django's is padded
		{"pbkdf2_sha512$10000$salt$" + key, "unknown format"},
		{"$scrypt$ln=14,r=8$" + salt + "$" + key, "parameters are not ln=,r=,p="},
		{"$scrypt$N=16384,r=8,p=1$" + salt + "$" + key, "parameters are not ln=,r=,p="},
		{"$scrypt$ln=0,r=8,p=1$" + salt + "$" + key, "ln=0 is not 1 to 20"},
		{"$scrypt$ln=14,r=0,p=1$" + salt + "$" + key, "r=0, p=1"},
		{"$sha256-salted$o=xx$c2FsdA$" + key, "order is not o=sp or o=ps"},
		{"$sha512-salted$o=sp$c2FsdA$" + key, "digest is 32 bytes, not 64"},
		{"$sha256-salted$o=sp$c2FsdA", "not $…-salted$"},
		{"$2b$10$" + strings.Repeat("a", 2000), "longer than 1024"},
	} {
		_, err := CheckImportedHash(c.hash, nil)
		if !errors.Is(err, ErrMalformedHash) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckImportedHash(%.40q) = %v, want ErrMalformedHash saying %q", c.hash, err, c.want)
		}
		assertNoHash(t, err, c.hash)
		// Verification refuses it the same way, and never says ok.
		if ok, _, verr := VerifyPassword(c.hash, "x", fastArgon2); ok || !errors.Is(verr, ErrMalformedHash) {
			t.Errorf("VerifyPassword(%.40q) = %v, %v; want ErrMalformedHash", c.hash, ok, verr)
		} else {
			assertNoHash(t, verr, c.hash)
		}
	}
}

// TestLegacyLimits checks that hashes whose verification would cost too much
// are refused before any work, at import and at login.
func TestLegacyLimits(t *testing.T) {
	const salt, key = "AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	key128 := strings.Repeat("A", 171) // 128 bytes: 7 SHA-1, 4 SHA-256 or 2 SHA-512 blocks
	start := time.Now()
	for _, c := range []struct{ hash, want string }{
		{"$2b$15$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e", "cost 15 is not 4 to 14"},
		{"$2b$31$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e", "cost 31"},
		{"$pbkdf2-sha512$5000001$" + salt + "$" + key, "iterations 5000001 are not 1 to 5000000"},
		{"pbkdf2_sha256$99999999$salt$" + key + "=", "iterations 99999999"},
		{"$scrypt$ln=21,r=8,p=1$" + salt + "$" + key, "ln=21 is not 1 to 20"},
		{"$scrypt$ln=20,r=16,p=1$" + salt + "$" + key, "memory 128·N·r is over 256 MiB"},
		{"$scrypt$ln=14,r=8,p=9$" + salt + "$" + key, "r·p at most 64"},
		{"$scrypt$ln=20,r=1,p=64$" + salt + "$" + key, "work N·r·p is over 2^21"}, // 128 MiB, but 64 passes over it
		{"$pbkdf2$3000000$" + salt + "$" + key128, "iterations 3000000 × 7 output blocks are over 5000000"},
		{"$pbkdf2-sha512$i=2500001,l=128$" + salt + "$" + key128, "iterations 2500001 × 2 output blocks"},
		{"$pbkdf2$5000000$" + salt + "$" + key, "iterations 5000000 × 2 output blocks"}, // a 32-byte SHA-1 key
		{"$argon2i$v=19$m=262145,t=1,p=1$" + salt + "$" + key, "memory m=262145 KiB"},
		{"$argon2i$v=19$m=65536,t=65,p=1$" + salt + "$" + key, "passes t=65"},
		{"$argon2i$v=19$m=262144,t=9,p=1$" + salt + "$" + key, "work m·t"},
		{"$argon2id$v=19$m=65536,t=100,p=1$" + salt + "$" + key, "passes t=100"},
		{"$argon2i$v=19$m=65536,t=3,p=256$" + salt + "$" + key, "lanes p=256"},
	} {
		_, err := CheckImportedHash(c.hash, []string{"bcrypt", "scrypt", "argon2i", "argon2id", "pbkdf2-sha1", "pbkdf2-sha256", "pbkdf2-sha512"})
		if !errors.Is(err, ErrMalformedHash) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckImportedHash(%.40q) = %v, want ErrMalformedHash saying %q", c.hash, err, c.want)
		}
		if ok, _, verr := VerifyPassword(c.hash, "x", fastArgon2); ok || !errors.Is(verr, ErrMalformedHash) {
			t.Errorf("VerifyPassword(%.40q) = %v, %v; want ErrMalformedHash", c.hash, ok, verr)
		}
	}
	// Refused before any work: hashing any of these would take from
	// seconds (scrypt, PBKDF2) to days (bcrypt cost 31).
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing the costly hashes took %v: some hashing ran before the limits were checked", d)
	}
	// Just at the bounds: accepted (checked only, not verified: each costs
	// most of a second).
	for _, h := range []string{
		"$pbkdf2-sha256$i=1250000,l=128$" + salt + "$" + key128, // 4 blocks
		"$pbkdf2$2500000$" + salt + "$" + key,                   // 32 bytes: 2 SHA-1 blocks
		"$scrypt$ln=20,r=2,p=1$" + salt + "$" + key,             // 256 MiB, N·r·p = 2^21
		"$2b$14$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e",
	} {
		if _, err := CheckImportedHash(h, nil); err != nil {
			t.Errorf("CheckImportedHash(%.40q) = %v, want accepted", h, err)
		}
	}
	// The native path keeps its own bound on passes (parsePHC).
	if _, _, err := VerifyPassword("$argon2id$v=19$m=64,t=65,p=1$"+salt+"$"+key, "x", fastArgon2); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("native argon2id with t=65: %v, want ErrMalformedHash", err)
	}
}

func TestLegacyWeak(t *testing.T) {
	const salt, key = "AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	for _, c := range []struct{ hash, scheme, want string }{
		{"$2b$07$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e", "bcrypt", "cost 7 is under 8"},
		{"$pbkdf2$9999$" + salt + "$" + key, "pbkdf2-sha1", "9999 iterations are under 10000"},
		{"$scrypt$ln=13,r=8,p=1$" + salt + "$" + key, "scrypt", "N=2^13 is under 2^14"},
		{"$argon2i$v=19$m=6144,t=10,p=1$" + salt + "$" + key, "argon2i", "m=6144 KiB, t=10"},
		{"$argon2id$v=19$m=16384,t=1,p=1$" + salt + "$" + key, "argon2id", "m=16384 KiB, t=1"},
		{"$sha256-salted$o=sp$c2FsdA$" + key, "sha256-salted", "salted SHA"},
	} {
		s, err := CheckImportedHash(c.hash, nil)
		if s != c.scheme || !errors.Is(err, ErrWeakHash) || errors.Is(err, ErrMalformedHash) ||
			!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--allow-weak "+c.scheme) {
			t.Errorf("CheckImportedHash(%.40q) = %q, %v; want %s, ErrWeakHash saying %q", c.hash, s, err, c.scheme, c.want)
		}
		assertNoHash(t, err, c.hash)
		if _, err := CheckImportedHash(c.hash, []string{"other"}); !errors.Is(err, ErrWeakHash) {
			t.Errorf("allowing another scheme accepted %s: %v", c.scheme, err)
		}
		if _, err := CheckImportedHash(c.hash, []string{c.scheme}); err != nil {
			t.Errorf("allowing %s: %v", c.scheme, err)
		}
	}
	// Just at the thresholds: not weak.
	for _, h := range []string{
		"$2b$08$abcdefghijklmnopqrstuefaIM.YEtZ/I8O5AHQn4hhT9pUj2ZD1e",
		"$pbkdf2$10000$" + salt + "$" + key,
		"$scrypt$ln=14,r=8,p=1$" + salt + "$" + key,
		"$argon2i$v=19$m=7168,t=5,p=1$" + salt + "$" + key,
	} {
		if _, err := CheckImportedHash(h, nil); err != nil {
			t.Errorf("CheckImportedHash(%.40q) = %v, want accepted", h, err)
		}
	}
}

func TestSaltedSHAHashErrors(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	for _, c := range []struct{ alg, salt, hex, want string }{
		{"md5", "s", hex64, `"md5" is not sha256 or sha512`},
		{"sha512", "s", hex64, "not 128 hex characters"},
		{"sha256", "s", hex64[:63], "not 64 hex characters"},
		{"sha256", "s", "zz" + hex64[2:], "not 64 hex characters"},
		{"sha256", strings.Repeat("s", 257), hex64, "salt longer than 256 bytes"},
	} {
		_, err := SaltedSHAHash(c.alg, true, c.salt, c.hex)
		if !errors.Is(err, ErrMalformedHash) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SaltedSHAHash(%s, %.10q) = %v, want ErrMalformedHash saying %q", c.alg, c.hex, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.hex[:16]) {
			t.Errorf("error %q contains the digest", err)
		}
	}
	h, err := SaltedSHAHash("sha256", false, "pepper$x", hex64)
	if err != nil || !strings.HasPrefix(h, "$sha256-salted$o=ps$") {
		t.Fatalf("SaltedSHAHash = %q, %v", h, err)
	}
	if s, err := CheckImportedHash(h, []string{"sha256-salted"}); s != "sha256-salted" || err != nil {
		t.Fatalf("a salt with '$' round trip: %q, %v", s, err)
	}
}
