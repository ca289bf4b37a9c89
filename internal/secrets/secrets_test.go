package secrets

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fastArgon2 keeps tests quick; the format and checks are the same.
var fastArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("open456", fastArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with its parameters", h)
	}
	h2, _ := HashPassword("open456", fastArgon2)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	ok, rehash, err := VerifyPassword(h, "open456", fastArgon2)
	if err != nil || !ok || rehash {
		t.Fatalf("verify right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	ok, _, err = VerifyPassword(h, "open457", fastArgon2)
	if err != nil || ok {
		t.Fatalf("verify wrong password: ok=%v err=%v", ok, err)
	}
	_, rehash, _ = VerifyPassword(h, "open456", DefaultArgon2)
	if !rehash {
		t.Fatal("a hash with weaker parameters than wanted is not flagged for rehash")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2d$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=x$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		if _, _, err := VerifyPassword(h, "x", fastArgon2); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("VerifyPassword(%q): err = %v, want ErrMalformedHash", h, err)
		}
	}
}

func testKeys(t *testing.T, secret string) *Keys {
	t.Helper()
	k, err := NewKeys([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestClientSecret(t *testing.T) {
	k := testKeys(t, strings.Repeat("a", 32))
	stored := k.HashClientSecret("654secretnx4")
	if strings.Contains(stored, "654secretnx4") || !strings.HasPrefix(stored, "hmac-sha256$v1$") {
		t.Fatalf("stored form %q", stored)
	}
	if !k.VerifyClientSecret(stored, "654secretnx4") {
		t.Fatal("right secret refused")
	}
	for _, bad := range []string{"", "654secretnx", "654secretnx4 "} {
		if k.VerifyClientSecret(stored, bad) {
			t.Fatalf("wrong secret %q accepted", bad)
		}
	}
	other := testKeys(t, strings.Repeat("b", 32))
	if other.VerifyClientSecret(stored, "654secretnx4") {
		t.Fatal("a different system secret verifies the same stored hash")
	}
	if k.Fingerprint() == other.Fingerprint() {
		t.Fatal("fingerprints of different secrets are equal")
	}
	if a, b := NewClientSecret(), NewClientSecret(); a == b || !strings.HasPrefix(a, "lk_cs_") || len(a) < 6+43 {
		t.Fatalf("generated secrets %q %q", a, b)
	}
}

func TestTokens(t *testing.T) {
	k := testKeys(t, strings.Repeat("a", 32))
	tok, id := k.NewToken(AccessTokenKind)
	if !strings.HasPrefix(tok, "lk_at_") || id != TokenID(tok) || strings.Contains(id, tok) {
		t.Fatalf("token %q id %q", tok, id)
	}
	if !k.CheckToken(AccessTokenKind, tok) {
		t.Fatal("fresh token refused")
	}
	if k.CheckToken(RefreshTokenKind, tok) {
		t.Fatal("access token accepted as refresh token")
	}
	if k.CheckToken(AccessTokenKind, tok[:len(tok)-1]) {
		t.Fatal("truncated token accepted")
	}
	flipped := []byte(tok)
	flipped[10] ^= 1
	if k.CheckToken(AccessTokenKind, string(flipped)) {
		t.Fatal("altered token accepted")
	}
	if testKeys(t, strings.Repeat("b", 32)).CheckToken(AccessTokenKind, tok) {
		t.Fatal("token accepted under another system secret")
	}
	at := time.Now()
	d1, _ := k.DeriveToken(RefreshTokenKind, tok, "successor", at)
	d2, _ := k.DeriveToken(RefreshTokenKind, tok, "successor", at.Truncate(time.Millisecond))
	d3, _ := k.DeriveToken(RefreshTokenKind, tok, "access", at)
	d4, _ := k.DeriveToken(RefreshTokenKind, tok, "successor", at.Add(time.Millisecond))
	if d1 != d2 || d1 == d3 || d1 == d4 || !k.CheckToken(RefreshTokenKind, d1) {
		t.Fatalf("derived tokens: %q %q %q %q", d1, d2, d3, d4)
	}
}

func TestTokenIDsSortByIssueTime(t *testing.T) {
	k := testKeys(t, strings.Repeat("a", 32))
	var prev string
	for range 100 {
		_, id := k.NewToken(RefreshTokenKind)
		if id[:16] < prev { // the issue time; the hash after it is random
			t.Fatalf("id %q sorts before the earlier %q", id, prev)
		}
		prev = id[:16]
	}
	parent, _ := k.NewToken(RefreshTokenKind)
	at := time.UnixMilli(1_800_000_000_123)
	if _, did := k.DeriveToken(RefreshTokenKind, parent, "refresh", at); did[:16] != fmt.Sprintf("%016x", at.UnixNano()) {
		t.Fatalf("derived id %q does not begin with the time it was derived at", did)
	}
	var prevFam string
	for range 100 {
		f := SortableID("fam_")
		if f[:20] < prevFam {
			t.Fatalf("family %q sorts before the earlier %q", f, prevFam)
		}
		prevFam = f[:20]
	}
}

func TestLegacyTokensStillAccepted(t *testing.T) {
	// Tokens issued before the issue-time prefix: 32 random bytes and the tag.
	k := testKeys(t, strings.Repeat("a", 32))
	raw := make([]byte, legacyLen)
	for i := range tokenRandom {
		raw[i] = byte(i * 7)
	}
	k.tag(RefreshTokenKind, raw[:tokenRandom], raw[tokenRandom:])
	tok := string(RefreshTokenKind) + base64.RawURLEncoding.EncodeToString(raw)
	if !k.CheckToken(RefreshTokenKind, tok) {
		t.Fatal("legacy token refused")
	}
	sum := sha256.Sum256([]byte(tok))
	if TokenID(tok) != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Fatalf("legacy token id %q is not its plain hash", TokenID(tok))
	}
	if d, _ := k.DeriveToken(RefreshTokenKind, tok, "refresh", time.Now()); !k.CheckToken(RefreshTokenKind, d) || len(d) == len(tok) {
		t.Fatalf("successor of a legacy token %q", d)
	}
}

func TestDecodeSystemSecret(t *testing.T) {
	if _, err := DecodeSystemSecret("short"); err == nil {
		t.Fatal("short secret accepted")
	}
	s := NewSystemSecret()
	b, err := DecodeSystemSecret(s + "\n")
	if err != nil || len(b) != 48 {
		t.Fatalf("decode generated secret: %d bytes, %v", len(b), err)
	}
	if _, err := NewKeys(b[:16]); err == nil {
		t.Fatal("16-byte system secret accepted")
	}
}
