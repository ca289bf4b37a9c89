package secrets

import (
	"strings"
	"testing"
)

func BenchmarkVerifyClientSecret(b *testing.B) {
	k, _ := NewKeys([]byte(strings.Repeat("a", 32)))
	stored := k.HashClientSecret("77xde15a-9d33-4c15-930a-3se4b3as33e9")
	b.ReportAllocs()
	for b.Loop() {
		if !k.VerifyClientSecret(stored, "77xde15a-9d33-4c15-930a-3se4b3as33e9") {
			b.Fatal("refused")
		}
	}
}

func BenchmarkNewToken(b *testing.B) {
	k, _ := NewKeys([]byte(strings.Repeat("a", 32)))
	b.ReportAllocs()
	for b.Loop() {
		k.NewToken(AccessTokenKind)
	}
}

func BenchmarkCheckToken(b *testing.B) {
	k, _ := NewKeys([]byte(strings.Repeat("a", 32)))
	tok, _ := k.NewToken(AccessTokenKind)
	b.ReportAllocs()
	for b.Loop() {
		if !k.CheckToken(AccessTokenKind, tok) {
			b.Fatal("refused")
		}
	}
}

// BenchmarkVerifyPassword is one password check at the default (OWASP) parameters.
func BenchmarkVerifyPassword(b *testing.B) {
	hash, err := HashPassword("correct horse battery staple", DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := VerifyPassword(hash, "correct horse battery staple", DefaultArgon2); !ok || err != nil {
			b.Fatal("password refused")
		}
	}
}
