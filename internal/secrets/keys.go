package secrets

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MinSystemSecret is the shortest system secret accepted, in bytes.
const MinSystemSecret = 32

// Keys are the keys derived from a deployment's system secret. The system
// secret lives outside the database, so a copy of the database alone reveals
// no client secret and lets no one mint a token.
type Keys struct {
	clientSecret []byte // keys the client secret hash
	tokenMAC     []byte // keys the tag opaque tokens carry
	encryption   []byte // encrypts signing keys at rest

	clientSecretMAC, tokenMACs *macer // reusable HMAC states under the two keys above
}

// NewKeys derives the keys from the system secret with HKDF-SHA256.
func NewKeys(systemSecret []byte) (*Keys, error) {
	if len(systemSecret) < MinSystemSecret {
		return nil, fmt.Errorf("system secret is %d bytes; at least %d are required", len(systemSecret), MinSystemSecret)
	}
	derive := func(label string) ([]byte, error) {
		return hkdf.Key(sha256.New, systemSecret, nil, "latchkey "+label, 32)
	}
	var k Keys
	var err error
	if k.clientSecret, err = derive("client-secret v1"); err != nil {
		return nil, fmt.Errorf("derive client secret key: %w", err)
	}
	if k.tokenMAC, err = derive("token-mac v1"); err != nil {
		return nil, fmt.Errorf("derive token key: %w", err)
	}
	if k.encryption, err = derive("encryption v1"); err != nil {
		return nil, fmt.Errorf("derive encryption key: %w", err)
	}
	k.clientSecretMAC, k.tokenMACs = newMacer(k.clientSecret), newMacer(k.tokenMAC)
	return &k, nil
}

// EncryptionKey returns the 256-bit key for encrypting data at rest.
func (k *Keys) EncryptionKey() []byte { return k.encryption }

// clientSecretPrefix names the scheme and version of a stored client secret hash.
const clientSecretPrefix = "hmac-sha256$v1$"

// HashClientSecret returns what is stored for a client secret: an
// HMAC-SHA256 of it under a key derived from the system secret.
func (k *Keys) HashClientSecret(secret string) string {
	var sum [sha256.Size]byte
	return clientSecretPrefix + base64.RawURLEncoding.EncodeToString(k.clientSecretMAC.sum(sum[:0], []byte(secret)))
}

// VerifyClientSecret reports, in constant time, whether secret matches stored.
func (k *Keys) VerifyClientSecret(stored, secret string) bool {
	encoded, ok := strings.CutPrefix(stored, clientSecretPrefix)
	if !ok || secret == "" || len(encoded) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return false
	}
	var want, got [sha256.Size]byte
	if n, err := base64.RawURLEncoding.Decode(want[:], []byte(encoded)); err != nil || n != len(want) {
		return false
	}
	return hmac.Equal(want[:], k.clientSecretMAC.sum(got[:0], []byte(secret)))
}

// Fingerprint identifies the system secret without revealing it, so a
// database can tell when it is opened with a different secret than before.
func (k *Keys) Fingerprint() string {
	m := hmac.New(sha256.New, k.clientSecret)
	m.Write([]byte("latchkey fingerprint"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// NewClientSecret returns a fresh client secret with 256 random bits.
func NewClientSecret() string { return "lk_cs_" + randomString(32) }

// NewSystemSecret returns a fresh system secret, base64url-encoded.
func NewSystemSecret() string { return randomString(48) }

// RandomID returns a random identifier with the given prefix, for rows whose
// id is not chosen by a person (accounts, token families).
func RandomID(prefix string) string { return prefix + randomString(16) }

// SortableID returns a random identifier that sorts by creation time, for
// rows created at a high rate (token families): new index entries then land
// together at the end of the index instead of on a random page each.
func SortableID(prefix string) string {
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(time.Now().UnixNano()))
	return prefix + hex.EncodeToString(t[:]) + randomString(12)
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; crashes the program if the OS has no randomness
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeSystemSecret accepts a system secret as written in config: base64
// (standard or URL alphabet, padded or not) of at least 32 bytes, or any
// string of at least 32 bytes used as is.
func DecodeSystemSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) >= MinSystemSecret {
			return b, nil
		}
	}
	if len(s) >= MinSystemSecret {
		return []byte(s), nil
	}
	return nil, errors.New("system secret is too short: use at least 32 random bytes (latchkey prints one with `latchkey secret generate`)")
}

// MAC returns a base64url HMAC-SHA256 of data for a named purpose (for
// example CSRF tokens), under a key derived from the system secret.
func (k *Keys) MAC(purpose string, data []byte) string {
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(k.tokenMACs.sum(sum[:0], []byte("mac\x00"+purpose+"\x00"), data))
}
