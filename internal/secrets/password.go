// Package secrets makes and checks the secrets latchkey keeps: account
// passwords (Argon2id), client secrets (keyed hash), and opaque tokens
// (random, MAC-tagged, stored as a hash). See docs/SECURITY.md for why.
package secrets

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of an Argon2id hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2 follows OWASP's Password Storage Cheat Sheet (19 MiB, 2 passes, 1 lane).
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformedHash means a stored password hash cannot be parsed.
var ErrMalformedHash = errors.New("malformed password hash")

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC string of an Argon2id hash of password, e.g.
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. The parameters travel with the
// hash so they can be raised later without invalidating older hashes.
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the stored hash, of
// latchkey's Argon2id or of a legacy scheme (legacy.go). The comparison is
// constant-time; rehash is true when the hash was made with parameters other
// than want, or with a legacy scheme and the password is right, so the caller
// can upgrade it after a login.
func VerifyPassword(hash, password string, want Argon2Params) (ok, rehash bool, err error) {
	if !strings.HasPrefix(hash, "$argon2id$") {
		ok, err = verifyLegacy(hash, password)
		return ok, ok, err
	}
	p, salt, key, err := parsePHC(hash)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = p.Memory != want.Memory || p.Time != want.Time || p.Threads != want.Threads
	return ok, rehash, nil
}

func parsePHC(hash string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version %q", ErrMalformedHash, parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrMalformedHash, parts[3])
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > MaxArgon2Memory ||
		p.Time > MaxArgon2Time || uint64(p.Memory)*uint64(p.Time) > MaxArgon2Work {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", ErrMalformedHash, parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrMalformedHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return p, nil, nil, fmt.Errorf("%w: key", ErrMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
