package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
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
	tokenRandom = 32 // bytes of randomness
	tokenTag    = 8  // bytes of MAC tag
)

// NewToken returns a new opaque token of the given kind and the ID under
// which it is stored (its hash). The token is 256 random bits followed by a
// short MAC, so forged or truncated tokens are refused without a lookup.
func (k *Keys) NewToken(kind TokenKind) (token, id string) {
	var raw [tokenRandom + tokenTag]byte
	rand.Read(raw[:tokenRandom])
	k.tag(kind, raw[:tokenRandom], raw[tokenRandom:])
	token = string(kind) + base64.RawURLEncoding.EncodeToString(raw[:])
	return token, TokenID(token)
}

// DeriveToken returns the token of the given kind derived from a parent
// token: the same parent always yields the same token. A retried refresh
// within the grace window gets the very successor it got the first time
// without latchkey keeping that successor in clear.
func (k *Keys) DeriveToken(kind TokenKind, parent, label string) (token, id string) {
	m := hmac.New(sha256.New, k.tokenMAC)
	m.Write([]byte("derive\x00" + label + "\x00" + parent))
	var raw [tokenRandom + tokenTag]byte
	copy(raw[:tokenRandom], m.Sum(nil))
	k.tag(kind, raw[:tokenRandom], raw[tokenRandom:])
	token = string(kind) + base64.RawURLEncoding.EncodeToString(raw[:])
	return token, TokenID(token)
}

// CheckToken reports whether token is well formed, of the given kind and
// carries a valid tag. It needs no database.
func (k *Keys) CheckToken(kind TokenKind, token string) bool {
	body, ok := strings.CutPrefix(token, string(kind))
	if !ok || len(body) != base64.RawURLEncoding.EncodedLen(tokenRandom+tokenTag) {
		return false
	}
	var raw [tokenRandom + tokenTag]byte
	if n, err := base64.RawURLEncoding.Decode(raw[:], []byte(body)); err != nil || n != len(raw) {
		return false
	}
	var want [tokenTag]byte
	k.tag(kind, raw[:tokenRandom], want[:])
	return hmac.Equal(want[:], raw[tokenRandom:])
}

func (k *Keys) tag(kind TokenKind, random, out []byte) {
	m := hmac.New(sha256.New, k.tokenMAC)
	m.Write([]byte(kind))
	m.Write(random)
	copy(out, m.Sum(nil))
}

// TokenID is the stored form of a token: base64url(SHA-256(token)). Tokens
// carry 256 random bits, so a plain hash is enough to make a stolen table useless.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
