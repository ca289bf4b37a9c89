package signing

import (
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// TestEnsure: on a fresh store Ensure makes one key per algorithm, signing
// now and published before anything is signed; a second Ensure makes none,
// and the signers then use the ensured keys rather than making their own.
func TestEnsure(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		kr := newKeyring(t, st, testKeys(t, "e"), c)
		made, err := kr.Ensure(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(made) != len(Algorithms) {
			t.Fatalf("Ensure made %d keys, want one per algorithm: %+v", len(made), made)
		}
		set := published(t, kr)
		kid := map[jose.SignatureAlgorithm]string{}
		for i, alg := range Algorithms {
			k := made[i]
			if KeyAlgorithm(k) != alg || !k.SignFrom.Equal(c.Now()) || !k.RetiredAt.IsZero() {
				t.Fatalf("Ensure made %+v, want a %s key signing now", k, alg)
			}
			if jwk, ok := set[k.ID]; !ok || jwk.Algorithm != string(alg) {
				t.Fatalf("the %s key %s is not in the JWKS: %v", alg, k.ID, set)
			}
			kid[alg] = k.ID
		}
		if again, err := kr.Ensure(t.Context()); err != nil || len(again) != 0 {
			t.Fatalf("second Ensure made %+v, %v; want none", again, err)
		}
		// Another node, its cache cold, signs with the ensured keys.
		other := newKeyring(t, st, testKeys(t, "e"), c)
		for _, alg := range Algorithms {
			if got := verify(t, kr, sign(t, other, alg, "JWT"), alg).kid; got != kid[alg] {
				t.Fatalf("%s signed with %s, want the ensured key %s", alg, got, kid[alg])
			}
		}
		if ks, _ := st.ListSigningKeys(t.Context()); len(ks) != len(Algorithms) {
			t.Fatalf("%d keys stored, want %d", len(ks), len(Algorithms))
		}
	})
}

// TestEnsureTwoNodes: two nodes starting together on one database may
// each make a first key; every token either signs verifies on both, and
// once their caches expire both sign with the same (newest) key.
func TestEnsureTwoNodes(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		a, b := newKeyring(t, st, testKeys(t, "n"), c), newKeyring(t, st, testKeys(t, "n"), c)
		var wg sync.WaitGroup
		for _, kr := range []*Keyring{a, b} {
			wg.Go(func() {
				if _, err := kr.Ensure(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		c.Add(refreshEvery) // a verifier may read the list again for an unknown kid
		for _, alg := range Algorithms {
			for _, signer := range []*Keyring{a, b} {
				tok := sign(t, signer, alg, "JWT")
				verify(t, a, tok, alg)
				verify(t, b, tok, alg)
			}
		}
		c.Add(cacheFor)
		for _, alg := range Algorithms {
			if ka, kb := verify(t, a, sign(t, a, alg, "JWT"), alg).kid, verify(t, b, sign(t, b, alg, "JWT"), alg).kid; ka != kb {
				t.Fatalf("%s: after the caches expired node A signs with %s, node B with %s", alg, ka, kb)
			}
		}
	})
}

// TestRotateFirstKeySignsNow: rotating a keyring with no keys makes keys
// that sign at once (there is no current key to keep signing meanwhile);
// the next rotation publishes ahead as usual.
func TestRotateFirstKeySignsNow(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		c := newClock()
		kr := newKeyring(t, st, testKeys(t, "s"), c)
		const ahead = 10 * time.Minute
		first, err := kr.Rotate(t.Context(), ahead, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range first {
			if !k.SignFrom.Equal(c.Now()) {
				t.Fatalf("first %s key signs from %v, want now (%v)", KeyAlgorithm(k), k.SignFrom, c.Now())
			}
		}
		if made, err := kr.Ensure(t.Context()); err != nil || len(made) != 0 {
			t.Fatalf("Ensure after the first rotation made %+v, %v; want none", made, err)
		}
		next, err := kr.Rotate(t.Context(), ahead, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range next {
			if !k.SignFrom.Equal(c.Now().Add(ahead)) {
				t.Fatalf("second %s key signs from %v, want now+%v", KeyAlgorithm(k), k.SignFrom, ahead)
			}
		}
	})
}
