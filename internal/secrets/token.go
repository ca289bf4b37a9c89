package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// TokenKind is the type prefix of an opaque token, so secret scanners can
// recognise a leaked one and logs can say which kind was presented.
type TokenKind string

// The kinds of opaque token.
const (
	AccessTokenKind  TokenKind = "lk_at_"
	RefreshTokenKind TokenKind = "lk_rt_"
	AuthCodeKind     TokenKind = "lk_ac_"
	DeviceCodeKind   TokenKind = "lk_dc_"
	SessionKind      TokenKind = "lk_ss_"
)

const (
	tokenOrder  = 8  // bytes of issue time, big-endian, so new rows land at the end of the index
	tokenRandom = 32 // bytes of randomness
	tokenTag    = 8  // bytes of MAC tag
	tokenLen    = tokenOrder + tokenRandom + tokenTag
	// legacyLen is the body of tokens issued before the ordering prefix;
	// they stay valid until they expire.
	legacyLen = tokenRandom + tokenTag
	kindLen   = len("lk_at_") // every TokenKind has this length
	// tokenTextLen is the length of a token as text.
	tokenTextLen = kindLen + (tokenLen*8+5)/6
)

// NewToken returns a new opaque token of the given kind and the ID under
// which it is stored. The token is its issue time, 256 random bits and a
// short MAC, so forged or truncated tokens are refused without a lookup.
func (k *Keys) NewToken(kind TokenKind) (token, id string) {
	var raw [tokenLen]byte
	binary.BigEndian.PutUint64(raw[:tokenOrder], uint64(time.Now().UnixNano()))
	rand.Read(raw[tokenOrder : tokenOrder+tokenRandom])
	return k.encode(kind, &raw)
}

// DeriveToken returns the token of the given kind derived from a parent
// token and the time it was derived at (to the millisecond): the same
// parent and time always yield the same token. A retried refresh within the
// grace window gets the very successor it got the first time without
// latchkey keeping that successor in clear.
func (k *Keys) DeriveToken(kind TokenKind, parent, label string, at time.Time) (token, id string) {
	var raw [tokenLen]byte
	binary.BigEndian.PutUint64(raw[:tokenOrder], uint64(at.UnixMilli())*uint64(time.Millisecond))
	k.tokenMACs.sum(raw[tokenOrder:tokenOrder], []byte("derive\x00"+label+"\x00"+parent))
	return k.encode(kind, &raw)
}

func (k *Keys) encode(kind TokenKind, raw *[tokenLen]byte) (token, id string) {
	k.tag(kind, raw[:tokenOrder+tokenRandom], raw[tokenOrder+tokenRandom:])
	var buf [kindLen + (tokenLen*8+5)/6]byte
	n := copy(buf[:], kind)
	base64.RawURLEncoding.Encode(buf[n:], raw[:])
	token = string(buf[:])
	return token, TokenID(token)
}

// CheckToken reports whether token is well formed, of the given kind and
// carries a valid tag. It needs no database.
func (k *Keys) CheckToken(kind TokenKind, token string) bool {
	body, ok := strings.CutPrefix(token, string(kind))
	if !ok {
		return false
	}
	var buf [tokenLen]byte
	raw, ok := decodeBody(&buf, body)
	if !ok {
		return false
	}
	var want [tokenTag]byte
	k.tag(kind, raw[:len(raw)-tokenTag], want[:])
	return hmac.Equal(want[:], raw[len(raw)-tokenTag:])
}

// decodeBody decodes the part of a token after its kind into buf; ok is
// false unless it has the length of a current or a legacy token.
func decodeBody(buf *[tokenLen]byte, s string) ([]byte, bool) {
	n := len(s)
	if n != base64.RawURLEncoding.EncodedLen(tokenLen) && n != base64.RawURLEncoding.EncodedLen(legacyLen) {
		return nil, false
	}
	var src [(tokenLen*8 + 5) / 6]byte // on the stack: []byte(s) of this length would be allocated
	raw := buf[:base64.RawURLEncoding.DecodedLen(n)]
	if m, err := base64.RawURLEncoding.Decode(raw, src[:copy(src[:], s)]); err != nil || m != len(raw) {
		return nil, false
	}
	return raw, true
}

func (k *Keys) tag(kind TokenKind, msg, out []byte) {
	var sum [sha256.Size]byte
	copy(out, k.tokenMACs.sum(sum[:0], []byte(kind), msg))
}

// TokenID is the stored form of a token: its hex issue time, so that new
// rows land together at the end of the index, then base64url(SHA-256(token)).
// Tokens carry 256 random bits, so a plain hash is enough to make a stolen
// table useless. Legacy tokens, with no issue time, are stored under the hash.
func TokenID(token string) string {
	var sum [sha256.Size]byte
	if len(token) <= tokenTextLen {
		var b [tokenTextLen]byte // on the stack: []byte(token) of this length would be allocated
		sum = sha256.Sum256(b[:copy(b[:], token)])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	var id [2*tokenOrder + (sha256.Size*8+5)/6]byte
	base64.RawURLEncoding.Encode(id[2*tokenOrder:], sum[:])
	if len(token) != kindLen+base64.RawURLEncoding.EncodedLen(tokenLen) || !strings.HasPrefix(token, "lk_") {
		return string(id[2*tokenOrder:])
	}
	// The first 12 characters of the body hold the 8 bytes of issue time (and 1 more).
	var order [9]byte
	if _, err := base64.RawURLEncoding.Decode(order[:], []byte(token[kindLen:kindLen+12])); err != nil {
		return string(id[2*tokenOrder:])
	}
	hex.Encode(id[:2*tokenOrder], order[:tokenOrder])
	return string(id[:])
}
