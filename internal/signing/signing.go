// Package signing keeps the keys that sign JWT access tokens: ES256 keys
// stored encrypted with the deployment's system secret, published as a JWKS
// before they sign, and kept published after they stop signing until the
// tokens they signed have expired.
package signing

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Algorithm is the JWS algorithm of every key.
const Algorithm = jose.ES256

// cacheFor is how long the key list is reused before it is read again, so
// a rotation made by any node is seen by all within this time.
const cacheFor = 30 * time.Second

// Keyring signs with the current key and publishes the public keys.
type Keyring struct {
	store storage.SigningKeys
	aead  cipher.AEAD
	now   func() time.Time

	mu        sync.Mutex
	keys      []storage.SigningKey
	loaded    time.Time
	signer    jose.Signer // for signerKID, so the hot path decrypts nothing
	signerKID string
}

// New returns the keyring of store, encrypting private keys with keys.
func New(store storage.SigningKeys, keys *secrets.Keys, now func() time.Time) (*Keyring, error) {
	block, err := aes.NewCipher(keys.EncryptionKey())
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Keyring{store: store, aead: aead, now: now}, nil
}

func (k *Keyring) list(ctx context.Context, fresh bool) ([]storage.SigningKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !fresh && k.keys != nil && k.now().Sub(k.loaded) < cacheFor {
		return k.keys, nil
	}
	ks, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	k.keys, k.loaded = ks, k.now()
	return ks, nil
}

// Signer returns a signer for the key that signs now, creating the first
// key when there is none.
func (k *Keyring) Signer(ctx context.Context) (jose.Signer, error) {
	ks, err := k.list(ctx, false)
	if err != nil {
		return nil, err
	}
	key, ok := active(ks, k.now())
	if !ok {
		if key, err = k.create(ctx, k.now()); err != nil {
			return nil, err
		}
	}
	k.mu.Lock()
	cached, kid := k.signer, k.signerKID
	k.mu.Unlock()
	if cached != nil && kid == key.ID {
		return cached, nil
	}
	priv, err := k.decrypt(key)
	if err != nil {
		return nil, err
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: priv, KeyID: key.ID, Algorithm: string(Algorithm)}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", key.ID, err)
	}
	k.mu.Lock()
	k.signer, k.signerKID = s, key.ID
	k.mu.Unlock()
	return s, nil
}

// active picks the newest key that has started and not stopped signing.
func active(ks []storage.SigningKey, now time.Time) (storage.SigningKey, bool) {
	var best storage.SigningKey
	found := false
	for _, key := range ks {
		if key.SignFrom.After(now) || (!key.RetiredAt.IsZero() && !now.Before(key.RetiredAt)) {
			continue
		}
		if !found || key.SignFrom.After(best.SignFrom) {
			best, found = key, true
		}
	}
	return best, found
}

// JWKS returns the published public keys: every key not past its expiry.
func (k *Keyring) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	ks, err := k.list(ctx, false)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := k.now()
	var set jose.JSONWebKeySet
	for _, key := range ks {
		if !key.ExpiresAt.IsZero() && !now.Before(key.ExpiresAt) {
			continue
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(key.PublicJWK), &jwk); err != nil {
			return set, fmt.Errorf("decode public key %s: %w", key.ID, err)
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

// PublicKey returns the published key with the given id, reading the store
// again once when the id is unknown (another node may have just rotated).
func (k *Keyring) PublicKey(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	for _, fresh := range []bool{false, true} {
		if _, err := k.list(ctx, fresh); err != nil {
			return nil, err
		}
		set, err := k.JWKS(ctx)
		if err != nil {
			return nil, err
		}
		if keys := set.Key(kid); len(keys) == 1 {
			return &keys[0], nil
		}
	}
	return nil, errUnknownKey
}

var errUnknownKey = errors.New("unknown signing key")

// Rotate creates the next key, published now and signing from now+ahead,
// and retires the current ones at that moment; they stay published for keep
// more (the longest access token lifetime), or forever when keep is 0.
func (k *Keyring) Rotate(ctx context.Context, ahead, keep time.Duration) (storage.SigningKey, error) {
	now := k.now()
	next, err := k.create(ctx, now.Add(ahead))
	if err != nil {
		return next, err
	}
	ks, err := k.list(ctx, true)
	if err != nil {
		return next, err
	}
	for _, key := range ks {
		if key.ID == next.ID || !key.RetiredAt.IsZero() {
			continue
		}
		err := k.store.UpdateSigningKey(ctx, key.ID, func(s storage.SigningKey) (storage.SigningKey, error) {
			s.RetiredAt = next.SignFrom
			if keep > 0 {
				s.ExpiresAt = next.SignFrom.Add(keep)
			}
			return s, nil
		})
		if err != nil {
			return next, fmt.Errorf("retire key %s: %w", key.ID, err)
		}
	}
	// Keys whose tokens have all expired are no longer needed.
	for _, key := range ks {
		if !key.ExpiresAt.IsZero() && now.After(key.ExpiresAt) {
			if err := k.store.DeleteSigningKey(ctx, key.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return next, fmt.Errorf("delete expired key %s: %w", key.ID, err)
			}
		}
	}
	_, err = k.list(ctx, true)
	return next, err
}

func (k *Keyring) create(ctx context.Context, signFrom time.Time) (storage.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	id := secrets.RandomID("k")
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: id, Algorithm: string(Algorithm), Use: "sig"})
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode public key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode private key: %w", err)
	}
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	key := storage.SigningKey{ID: id, Algorithm: string(Algorithm), PublicJWK: string(pub),
		PrivateKey: k.aead.Seal(nonce, nonce, der, []byte(id)), CreatedAt: k.now(), SignFrom: signFrom}
	if err := k.store.CreateSigningKey(ctx, key); err != nil {
		return key, fmt.Errorf("store signing key: %w", err)
	}
	_, err = k.list(ctx, true)
	return key, err
}

func (k *Keyring) decrypt(key storage.SigningKey) (*ecdsa.PrivateKey, error) {
	n := k.aead.NonceSize()
	if len(key.PrivateKey) < n {
		return nil, fmt.Errorf("signing key %s is corrupt", key.ID)
	}
	der, err := k.aead.Open(nil, key.PrivateKey[:n], key.PrivateKey[n:], []byte(key.ID))
	if err != nil {
		return nil, fmt.Errorf("decrypt signing key %s (is this the right system secret?): %w", key.ID, err)
	}
	priv, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", key.ID, err)
	}
	return priv, nil
}

// Sorted returns keys ordered by when they start signing, for listings.
func Sorted(ks []storage.SigningKey) []storage.SigningKey {
	out := append([]storage.SigningKey(nil), ks...)
	sort.Slice(out, func(i, j int) bool { return out[i].SignFrom.Before(out[j].SignFrom) })
	return out
}
