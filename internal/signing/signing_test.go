package signing

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// clock is a settable time source; stored times have millisecond precision.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time                 { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)            { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *clock) past(d time.Duration) time.Time { return c.Now().Add(-d) }

func opts() sqlstore.Options {
	return sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)}
}

// eachStore runs fn with a fresh SQLite store and, when enabled, a fresh PostgreSQL one.
func eachStore(t *testing.T, fn func(t *testing.T, st storage.Storage)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "lk.db"), opts())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.DSN(t), opts())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

func testKeys(t testing.TB, fill string) *secrets.Keys {
	t.Helper()
	keys, err := secrets.NewKeys([]byte(strings.Repeat(fill, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func newKeyring(t testing.TB, st storage.SigningKeys, keys *secrets.Keys, c *clock) *Keyring {
	t.Helper()
	kr, err := New(st, keys, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// sign signs a small payload with the keyring's signer for alg and typ.
func sign(t *testing.T, kr *Keyring, alg jose.SignatureAlgorithm, typ string) string {
	t.Helper()
	s, err := kr.SignerFor(t.Context(), alg, typ)
	if err != nil {
		t.Fatalf("SignerFor(%s, %q): %v", alg, typ, err)
	}
	jws, err := s.Sign([]byte(`{"sub":"a-1"}`))
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// verified is what a verifier learns from a token checked against the keyring.
type verified struct {
	kid, typ string
	hasTyp   bool
}

// verify checks tok as a relying party would: only alg is allowed, and the
// key is the published one with the token's kid. It fails the test if tok
// does not verify.
func verify(t *testing.T, kr *Keyring, tok string, alg jose.SignatureAlgorithm) verified {
	t.Helper()
	v, err := tryVerify(t.Context(), kr, tok, alg)
	if err != nil {
		t.Fatalf("%s token does not verify: %v", alg, err)
	}
	return v
}

func tryVerify(ctx context.Context, kr *Keyring, tok string, alg jose.SignatureAlgorithm) (verified, error) {
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return verified{}, err
	}
	h := jws.Signatures[0].Header
	key, err := kr.PublicKey(ctx, h.KeyID)
	if err != nil {
		return verified{}, err
	}
	if key.Algorithm != string(alg) || key.Use != "sig" || !key.IsPublic() {
		return verified{}, &jwkError{key}
	}
	if _, err := jws.Verify(key); err != nil {
		return verified{}, err
	}
	typ, ok := h.ExtraHeaders[jose.HeaderType].(string)
	return verified{kid: h.KeyID, typ: typ, hasTyp: ok}, nil
}

type jwkError struct{ key *jose.JSONWebKey }

func (e *jwkError) Error() string {
	return "published key " + e.key.KeyID + " has alg " + e.key.Algorithm + ", use " + e.key.Use
}

func published(t *testing.T, kr *Keyring) map[string]jose.JSONWebKey {
	t.Helper()
	set, err := kr.JWKS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]jose.JSONWebKey{}
	for _, k := range set.Keys {
		out[k.KeyID] = k
	}
	return out
}

func storedKey(t *testing.T, st storage.SigningKeys, kid string) (storage.SigningKey, bool) {
	t.Helper()
	ks, err := st.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if k.ID == kid {
			return k, true
		}
	}
	return storage.SigningKey{}, false
}

// TestSignersVerifyAgainstJWKS: each algorithm signs with its own key,
// published with its alg, and the typ header is as asked.
func TestSignersVerifyAgainstJWKS(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		kr := newKeyring(t, st, testKeys(t, "a"), c)

		kids := map[jose.SignatureAlgorithm]string{}
		for _, alg := range Algorithms {
			withTyp := verify(t, kr, sign(t, kr, alg, "JWT"), alg)
			if !withTyp.hasTyp || withTyp.typ != "JWT" {
				t.Fatalf("%s: typ header %q (present %v), want JWT", alg, withTyp.typ, withTyp.hasTyp)
			}
			noTyp := verify(t, kr, sign(t, kr, alg, ""), alg)
			if noTyp.hasTyp {
				t.Fatalf("%s: typ header %q present, want none", alg, noTyp.typ)
			}
			if noTyp.kid != withTyp.kid || withTyp.kid == "" {
				t.Fatalf("%s: kids %q and %q, want one key per algorithm", alg, withTyp.kid, noTyp.kid)
			}
			kids[alg] = withTyp.kid
			k, ok := storedKey(t, st, withTyp.kid)
			if !ok || k.Algorithm != string(alg) {
				t.Fatalf("%s key stored as %+v", alg, k)
			}
		}
		if kids[jose.RS256] == kids[jose.ES256] {
			t.Fatal("RS256 and ES256 share a key")
		}

		// A token verifies only with its own algorithm.
		if _, err := tryVerify(t.Context(), kr, sign(t, kr, jose.RS256, "JWT"), jose.ES256); err == nil {
			t.Fatal("an RS256 token verifies as ES256")
		}

		// The JWKS has both keys, of the right kind.
		set := published(t, kr)
		if len(set) != 2 {
			t.Fatalf("JWKS has %d keys, want 2", len(set))
		}
		if rk, ok := set[kids[jose.RS256]].Key.(*rsa.PublicKey); !ok || rk.N.BitLen() != 2048 || set[kids[jose.RS256]].Algorithm != "RS256" {
			t.Fatalf("RS256 JWK: %+v", set[kids[jose.RS256]])
		}
		if ek, ok := set[kids[jose.ES256]].Key.(*ecdsa.PublicKey); !ok || ek.Curve != elliptic.P256() || set[kids[jose.ES256]].Algorithm != "ES256" {
			t.Fatalf("ES256 JWK: %+v", set[kids[jose.ES256]])
		}
		for kid, jwk := range set {
			if jwk.Use != "sig" || !jwk.IsPublic() {
				t.Fatalf("JWK %s: use %q, public %v", kid, jwk.Use, jwk.IsPublic())
			}
		}
		// The published JSON is what resource servers and relying parties read.
		set2, _ := kr.JWKS(t.Context())
		raw, _ := json.Marshal(set2)
		for _, want := range []string{`"alg":"RS256"`, `"alg":"ES256"`, `"use":"sig"`} {
			if !strings.Contains(string(raw), want) {
				t.Fatalf("JWKS JSON lacks %s: %s", want, raw)
			}
		}
		if strings.Contains(string(raw), `"d":`) {
			t.Fatal("JWKS publishes a private key")
		}

		// Signer is the access token signer: ES256 with typ at+jwt.
		s, err := kr.Signer(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := s.Sign([]byte(`{}`))
		tok, _ := jws.CompactSerialize()
		if v := verify(t, kr, tok, AccessTokenAlgorithm); v.typ != "at+jwt" || v.kid != kids[jose.ES256] {
			t.Fatalf("access token signer: %+v", v)
		}

		// Signers are cached per algorithm and typ.
		a, _ := kr.SignerFor(t.Context(), jose.RS256, "JWT")
		b, _ := kr.SignerFor(t.Context(), jose.RS256, "JWT")
		if a != b {
			t.Fatal("the RS256 signer is not reused")
		}
		if c, _ := kr.SignerFor(t.Context(), jose.RS256, ""); c == a {
			t.Fatal("signers with different typ share a cache entry")
		}

		// Unknown algorithms are refused, and create nothing.
		for _, alg := range []jose.SignatureAlgorithm{jose.PS256, jose.HS256, jose.EdDSA, "none", ""} {
			if _, err := kr.SignerFor(t.Context(), alg, "JWT"); err == nil || !strings.Contains(err.Error(), "unsupported algorithm") {
				t.Fatalf("SignerFor(%q): %v, want unsupported algorithm", alg, err)
			}
		}
		if ks, _ := st.ListSigningKeys(t.Context()); len(ks) != 2 {
			t.Fatalf("%d keys stored, want 2", len(ks))
		}
	})
}

// TestRotation: the next key of each algorithm is published before it
// signs; the old ones keep verifying until their tokens have expired.
func TestRotation(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		kr := newKeyring(t, st, testKeys(t, "r"), c)
		other := newKeyring(t, st, testKeys(t, "r"), c) // another node, its cache warm
		old := map[jose.SignatureAlgorithm]string{}
		oldKid := map[jose.SignatureAlgorithm]string{}
		for _, alg := range Algorithms {
			old[alg] = sign(t, kr, alg, "JWT")
			// The other node reads its list again for an unknown key id,
			// at most once per refreshEvery.
			c.Add(refreshEvery)
			oldKid[alg] = verify(t, other, old[alg], alg).kid
		}

		const ahead, keep = 10 * time.Minute, time.Hour
		next, err := kr.Rotate(t.Context(), ahead, keep)
		if err != nil {
			t.Fatal(err)
		}
		if len(next) != 2 || KeyAlgorithm(next[0]) != jose.RS256 || KeyAlgorithm(next[1]) != jose.ES256 {
			t.Fatalf("Rotate returned %+v, want an RS256 then an ES256 key", next)
		}
		set := published(t, kr)
		for i, alg := range Algorithms {
			n := next[i]
			if _, ok := set[n.ID]; !ok {
				t.Fatalf("the next %s key is not published at once", alg)
			}
			if !n.SignFrom.Equal(c.Now().Add(ahead)) {
				t.Fatalf("next %s key signs from %v, want %v", alg, n.SignFrom, c.Now().Add(ahead))
			}
			// Published, but not signing yet.
			if v := verify(t, kr, sign(t, kr, alg, "JWT"), alg); v.kid != oldKid[alg] {
				t.Fatalf("%s signs with %s before the next key's time, want %s", alg, v.kid, oldKid[alg])
			}
			old, _ := storedKey(t, st, oldKid[alg])
			if !old.RetiredAt.Equal(n.SignFrom) || !old.ExpiresAt.Equal(n.SignFrom.Add(keep)) {
				t.Fatalf("old %s key: retired %v, expires %v", alg, old.RetiredAt, old.ExpiresAt)
			}
		}

		// Past the publish-ahead time (and the key cache), the new keys sign
		// and the old tokens still verify, on this node and the other.
		c.Add(ahead + cacheFor + time.Second)
		for i, alg := range Algorithms {
			if v := verify(t, other, sign(t, other, alg, "JWT"), alg); v.kid != next[i].ID {
				t.Fatalf("%s signs with %s after rotation, want %s", alg, v.kid, next[i].ID)
			}
			verify(t, other, old[alg], alg)
		}

		// Once the old tokens have all expired, the old keys are unpublished,
		// and the next rotation deletes them.
		c.Add(keep)
		for _, alg := range Algorithms {
			if _, err := tryVerify(t.Context(), kr, old[alg], alg); err == nil {
				t.Fatalf("old %s key still verifies after its tokens expired", alg)
			}
			if _, ok := published(t, kr)[oldKid[alg]]; ok {
				t.Fatalf("old %s key still published", alg)
			}
		}
		c.Add(time.Millisecond)
		if _, err := kr.Rotate(t.Context(), 0, keep); err != nil {
			t.Fatal(err)
		}
		for _, alg := range Algorithms {
			if _, ok := storedKey(t, st, oldKid[alg]); ok {
				t.Fatalf("expired %s key not deleted", alg)
			}
		}
		if ks, _ := st.ListSigningKeys(t.Context()); len(ks) != 4 {
			t.Fatalf("%d keys stored, want the 2 retired and the 2 new ones", len(ks))
		}
	})
}

// TestRotateOneAlgorithm: rotating one algorithm leaves the other's keys alone.
func TestRotateOneAlgorithm(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		kr := newKeyring(t, st, testKeys(t, "o"), c)
		kid := map[jose.SignatureAlgorithm]string{}
		for _, alg := range Algorithms {
			kid[alg] = verify(t, kr, sign(t, kr, alg, ""), alg).kid
		}

		for _, pair := range [][2]jose.SignatureAlgorithm{{jose.RS256, jose.ES256}, {jose.ES256, jose.RS256}} {
			rotated, kept := pair[0], pair[1]
			next, err := kr.Rotate(t.Context(), 0, time.Hour, rotated, rotated)
			if err != nil {
				t.Fatal(err)
			}
			if len(next) != 1 || KeyAlgorithm(next[0]) != rotated {
				t.Fatalf("Rotate(%s) returned %+v", rotated, next)
			}
			if k, _ := storedKey(t, st, kid[rotated]); k.RetiredAt.IsZero() {
				t.Fatalf("Rotate(%s) did not retire the old %s key", rotated, rotated)
			}
			if k, _ := storedKey(t, st, kid[kept]); !k.RetiredAt.IsZero() || !k.ExpiresAt.IsZero() {
				t.Fatalf("Rotate(%s) retired the %s key: %+v", rotated, kept, k)
			}
			c.Add(time.Millisecond)
			if v := verify(t, kr, sign(t, kr, rotated, ""), rotated); v.kid != next[0].ID {
				t.Fatalf("%s signs with %s, want the new %s", rotated, v.kid, next[0].ID)
			}
			if v := verify(t, kr, sign(t, kr, kept, ""), kept); v.kid != kid[kept] {
				t.Fatalf("%s signs with %s, want its unrotated key %s", kept, v.kid, kid[kept])
			}
			kid[rotated] = next[0].ID
		}

		before, _ := st.ListSigningKeys(t.Context())
		if _, err := kr.Rotate(t.Context(), 0, time.Hour, jose.ES256, jose.PS256); err == nil || !strings.Contains(err.Error(), "unsupported algorithm") {
			t.Fatalf("Rotate(PS256): %v, want unsupported algorithm", err)
		}
		if after, _ := st.ListSigningKeys(t.Context()); len(after) != len(before) {
			t.Fatal("a refused rotation changed the keys")
		}
	})
}

// openStored decrypts a stored private key the way the keyring stores it:
// AES-256-GCM under the system secret's encryption key, nonce first, the
// kid as additional data.
func openStored(t *testing.T, keys *secrets.Keys, k storage.SigningKey) ([]byte, error) {
	t.Helper()
	block, err := aes.NewCipher(keys.EncryptionKey())
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	n := aead.NonceSize()
	return aead.Open(nil, k.PrivateKey[:n], k.PrivateKey[n:], []byte(k.ID))
}

func sealStored(t *testing.T, keys *secrets.Keys, id string, der []byte) []byte {
	t.Helper()
	block, _ := aes.NewCipher(keys.EncryptionKey())
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, der, []byte(id))
}

func parsesAsKey(b []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(b); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(b)
	return err == nil
}

// TestPrivateKeysEncrypted: stored private keys are ciphertext that opens
// only with the right system secret; RSA keys are PKCS#8 inside.
func TestPrivateKeysEncrypted(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		keys := testKeys(t, "e")
		kr := newKeyring(t, st, keys, c)
		for _, alg := range Algorithms {
			sign(t, kr, alg, "")
		}
		ks, err := st.ListSigningKeys(t.Context())
		if err != nil || len(ks) != 2 {
			t.Fatalf("%d keys, %v", len(ks), err)
		}
		for _, k := range ks {
			if parsesAsKey(k.PrivateKey) {
				t.Fatalf("%s key %s is stored in the clear", k.Algorithm, k.ID)
			}
			if _, err := openStored(t, testKeys(t, "x"), k); err == nil {
				t.Fatalf("%s key %s opens with another system secret", k.Algorithm, k.ID)
			}
			der, err := openStored(t, keys, k)
			if err != nil {
				t.Fatalf("%s key %s does not open with the system secret: %v", k.Algorithm, k.ID, err)
			}
			var jwk jose.JSONWebKey
			if err := json.Unmarshal([]byte(k.PublicJWK), &jwk); err != nil {
				t.Fatal(err)
			}
			switch KeyAlgorithm(k) {
			case jose.RS256:
				priv, err := x509.ParsePKCS8PrivateKey(der)
				rk, ok := priv.(*rsa.PrivateKey)
				if err != nil || !ok || rk.N.BitLen() != 2048 || !rk.PublicKey.Equal(jwk.Key) {
					t.Fatalf("RS256 key %s: %T %v, or not the published key", k.ID, priv, err)
				}
			case jose.ES256:
				ek, err := x509.ParseECPrivateKey(der)
				if err != nil || !ek.PublicKey.Equal(jwk.Key) {
					t.Fatalf("ES256 key %s: %v, or not the published key", k.ID, err)
				}
			}
		}

		// A keyring with another system secret cannot sign with the keys
		// (and says why), though it can still publish them.
		wrong := newKeyring(t, st, testKeys(t, "x"), c)
		for _, alg := range Algorithms {
			if _, err := wrong.SignerFor(t.Context(), alg, ""); err == nil || !strings.Contains(err.Error(), "right system secret") {
				t.Fatalf("%s with the wrong secret: %v", alg, err)
			}
		}
		if len(published(t, wrong)) != 2 {
			t.Fatal("a keyring with another secret does not publish the keys")
		}

		// Ciphertext is bound to its kid: moved to another row, it does not open.
		rk := ks[0]
		if KeyAlgorithm(rk) != jose.RS256 {
			rk = ks[1]
		}
		moved := rk
		moved.ID, moved.SignFrom = "k-moved", c.Now().Add(time.Millisecond)
		if err := st.CreateSigningKey(t.Context(), moved); err != nil {
			t.Fatal(err)
		}
		c.Add(cacheFor + time.Second)
		if _, err := kr.SignerFor(t.Context(), jose.RS256, "moved"); err == nil {
			t.Fatal("a private key copied to another kid decrypts")
		}
	})
}

// TestLegacyES256Row: a key stored with no algorithm is ES256, as keys were
// before there were several algorithms.
func TestLegacyES256Row(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		keys := testKeys(t, "l")
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalECPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		// Its JWK predates alg and use, too.
		pub, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: "k-legacy"})
		legacy := storage.SigningKey{ID: "k-legacy", PublicJWK: string(pub), PrivateKey: sealStored(t, keys, "k-legacy", der),
			CreatedAt: c.past(time.Hour), SignFrom: c.past(time.Hour)}
		if err := st.CreateSigningKey(t.Context(), legacy); err != nil {
			t.Fatal(err)
		}

		kr := newKeyring(t, st, keys, c)
		s, err := kr.Signer(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := s.Sign([]byte(`{}`))
		tok, _ := jws.CompactSerialize()
		if v := verify(t, kr, tok, jose.ES256); v.kid != "k-legacy" || v.typ != "at+jwt" {
			t.Fatalf("access token signed with %+v, want the legacy key", v)
		}
		if jwk := published(t, kr)["k-legacy"]; jwk.Algorithm != "ES256" || jwk.Use != "sig" {
			t.Fatalf("legacy JWK published as %+v", jwk)
		}
		// RS256 gets its own key; the legacy key is not touched.
		if v := verify(t, kr, sign(t, kr, jose.RS256, "JWT"), jose.RS256); v.kid == "k-legacy" {
			t.Fatal("RS256 signs with the legacy ES256 key")
		}
		if k, _ := storedKey(t, st, "k-legacy"); !k.RetiredAt.IsZero() {
			t.Fatal("the legacy key was retired by an RS256 key")
		}
		// Rotating ES256 retires it; rotating RS256 alone did not.
		if _, err := kr.Rotate(t.Context(), 0, time.Hour, jose.RS256); err != nil {
			t.Fatal(err)
		}
		if k, _ := storedKey(t, st, "k-legacy"); !k.RetiredAt.IsZero() {
			t.Fatal("rotating RS256 retired the legacy ES256 key")
		}
		if _, err := kr.Rotate(t.Context(), 0, time.Hour, jose.ES256); err != nil {
			t.Fatal(err)
		}
		if k, _ := storedKey(t, st, "k-legacy"); k.RetiredAt.IsZero() {
			t.Fatal("rotating ES256 did not retire the legacy key")
		}
		verify(t, kr, tok, jose.ES256) // its tokens still verify
	})
}

// TestFirstKeyOnce: concurrent first uses of an algorithm share one key.
func TestFirstKeyOnce(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "lk.db"), opts())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kr := newKeyring(t, st, testKeys(t, "f"), newClock())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		for _, alg := range Algorithms {
			wg.Go(func() {
				if _, err := kr.SignerFor(t.Context(), alg, "JWT"); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ks, _ := st.ListSigningKeys(t.Context())
	if len(ks) != len(Algorithms) {
		t.Fatalf("%d keys created, want one per algorithm", len(ks))
	}
}

func benchmarkSign(b *testing.B, alg jose.SignatureAlgorithm) {
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "lk.db"), opts())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	kr := newKeyring(b, st, testKeys(b, "b"), newClock())
	payload := []byte(`{"iss":"https://auth.example.com","sub":"a-1","aud":"app","exp":1900000000,"iat":1800000000}`)
	for b.Loop() {
		s, err := kr.SignerFor(b.Context(), alg, "JWT")
		if err != nil {
			b.Fatal(err)
		}
		jws, err := s.Sign(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.CompactSerialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRS256 is the hot path of an RS256 ID token: cached signer, one signature.
func BenchmarkSignRS256(b *testing.B) { benchmarkSign(b, jose.RS256) }

// BenchmarkSignES256 is the hot path of an access token or ES256 ID token.
func BenchmarkSignES256(b *testing.B) { benchmarkSign(b, jose.ES256) }

// BenchmarkCreateRS256 is the cost of a new RSA key: generated, encrypted, stored.
func BenchmarkCreateRS256(b *testing.B) {
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "lk.db"), opts())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c := newClock()
	kr := newKeyring(b, st, testKeys(b, "g"), c)
	for b.Loop() {
		if _, err := kr.create(b.Context(), jose.RS256, c.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUnknownKeyIDsCostFewReads: tokens naming key ids nobody published
// make the keyring read the store at most once per refreshEvery, and are
// ErrUnknownKey; a store that fails is reported as itself.
func TestUnknownKeyIDsCostFewReads(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		counted := &countingKeys{SigningKeys: st}
		kr := newKeyring(t, counted, testKeys(t, "u"), c)
		sign(t, kr, jose.ES256, "at+jwt")
		c.Add(refreshEvery)
		before := counted.lists.Load()
		for i := range 100 {
			if _, err := kr.PublicKey(t.Context(), fmt.Sprintf("made-up-%d", i)); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("made-up kid: %v, want ErrUnknownKey", err)
			}
		}
		if n := counted.lists.Load() - before; n != 1 {
			t.Fatalf("100 made-up key ids read the store %d times, want 1", n)
		}
		c.Add(cacheFor)
		counted.fail.Store(true)
		if _, err := kr.PublicKey(t.Context(), "made-up"); err == nil || errors.Is(err, ErrUnknownKey) {
			t.Fatalf("a failing store: %v, want its error", err)
		}
	})
}

// countingKeys counts ListSigningKeys calls and can make them fail.
type countingKeys struct {
	storage.SigningKeys
	lists atomic.Int64
	fail  atomic.Bool
}

func (c *countingKeys) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	c.lists.Add(1)
	if c.fail.Load() {
		return nil, errors.New("database down")
	}
	return c.SigningKeys.ListSigningKeys(ctx)
}
