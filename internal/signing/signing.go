// Package signing keeps the keys that sign JWTs: ES256 keys for access
// tokens, and RS256 and ES256 keys for OpenID Connect ID tokens (RS256 is the
// one every OpenID provider must offer). Private keys are stored encrypted
// with the deployment's system secret; public keys are published as a JWKS
// before they sign, and kept published after they stop signing until the
// tokens they signed have expired. Each algorithm has its own keys, created
// when serve starts (or at first use, for a keyring nobody ensured) and
// rotated together.
package signing

import (
	"context"
	"crypto"
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
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Algorithms are what the keyring signs with, each with its own keys.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// AccessTokenAlgorithm signs JWT access tokens: ES256 keeps them short and
// cheap to sign, and resource servers already verify them with it.
const AccessTokenAlgorithm = jose.ES256

// accessTokenType is the typ header of JWT access tokens (RFC 9068 §2.1).
const accessTokenType = "at+jwt"

// rsaBits is the size of new RSA keys: 2048 is the floor of RFC 7518 §3.3
// and what relying parties expect; larger keys make signing slower.
const rsaBits = 2048

// cacheFor is how long the key list is reused before it is read again, so
// a rotation made by any node is seen by all within this time.
const cacheFor = 30 * time.Second

// Keyring signs with the current key of each algorithm and publishes the
// public keys.
type Keyring struct {
	store storage.SigningKeys
	aead  cipher.AEAD
	now   func() time.Time

	createMu sync.Mutex // one first key per algorithm from this process

	mu      sync.Mutex
	keys    []storage.SigningKey
	loaded  time.Time
	signers map[signerSlot]cachedSigner // so the hot path decrypts nothing
}

// signerSlot names a cached signer: one per algorithm and typ header.
type signerSlot struct {
	alg jose.SignatureAlgorithm
	typ string
}

// cachedSigner is a signer and the key it signs with, so a rotation is
// noticed by comparing kids.
type cachedSigner struct {
	kid    string
	signer jose.Signer
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
	return &Keyring{store: store, aead: aead, now: now, signers: map[signerSlot]cachedSigner{}}, nil
}

// KeyAlgorithm is the algorithm of a stored key: keys stored before there
// were several algorithms have none and are ES256.
func KeyAlgorithm(key storage.SigningKey) jose.SignatureAlgorithm {
	if key.Algorithm == "" {
		return jose.ES256
	}
	return jose.SignatureAlgorithm(key.Algorithm)
}

func supported(alg jose.SignatureAlgorithm) error {
	if !slices.Contains(Algorithms, alg) {
		return fmt.Errorf("signing: unsupported algorithm %q (want one of %v)", alg, Algorithms)
	}
	return nil
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

// Signer returns the signer of JWT access tokens: SignerFor with
// AccessTokenAlgorithm and typ at+jwt.
func (k *Keyring) Signer(ctx context.Context) (jose.Signer, error) {
	return k.SignerFor(ctx, AccessTokenAlgorithm, accessTokenType)
}

// SignerFor returns a signer with the key of algorithm alg that signs now,
// creating the first key of alg when there is none. Its JWS header has the
// key's kid and, unless typ is empty, typ.
func (k *Keyring) SignerFor(ctx context.Context, alg jose.SignatureAlgorithm, typ string) (jose.Signer, error) {
	if err := supported(alg); err != nil {
		return nil, err
	}
	ks, err := k.list(ctx, false)
	if err != nil {
		return nil, err
	}
	key, ok := active(ks, alg, k.now())
	if !ok {
		if key, _, err = k.first(ctx, alg); err != nil {
			return nil, err
		}
	}
	slot := signerSlot{alg, typ}
	k.mu.Lock()
	cached := k.signers[slot]
	k.mu.Unlock()
	if cached.signer != nil && cached.kid == key.ID {
		return cached.signer, nil
	}
	priv, err := k.decrypt(key)
	if err != nil {
		return nil, err
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: key.ID, Algorithm: string(alg)}}, opts)
	if err != nil {
		return nil, fmt.Errorf("%s signer for key %s: %w", alg, key.ID, err)
	}
	k.mu.Lock()
	k.signers[slot] = cachedSigner{kid: key.ID, signer: s}
	k.mu.Unlock()
	return s, nil
}

// first creates the first key of alg, unless another caller of this
// process just did: concurrent first requests share one key (RSA keys are
// slow to generate, and an extra key would stay published until a rotation).
// created says whether this call made the key.
func (k *Keyring) first(ctx context.Context, alg jose.SignatureAlgorithm) (key storage.SigningKey, created bool, err error) {
	k.createMu.Lock()
	defer k.createMu.Unlock()
	ks, err := k.list(ctx, true)
	if err != nil {
		return storage.SigningKey{}, false, err
	}
	if key, ok := active(ks, alg, k.now()); ok {
		return key, false, nil
	}
	key, err = k.create(ctx, alg, k.now())
	return key, err == nil, err
}

// Ensure creates a key for each algorithm that has none signing now, so
// that serve can publish the first keys before it answers any request and
// resource servers can fetch them before any token names them (otherwise
// the first token request would make them and sign at once). It returns
// the keys it created. Nodes starting together may each create one; see
// docs/OIDC.md for why that is harmless.
func (k *Keyring) Ensure(ctx context.Context) ([]storage.SigningKey, error) {
	var made []storage.SigningKey
	for _, alg := range Algorithms {
		key, created, err := k.first(ctx, alg)
		if err != nil {
			return made, fmt.Errorf("create the first %s signing key: %w", alg, err)
		}
		if created {
			made = append(made, key)
		}
	}
	return made, nil
}

// active picks the newest key of alg that has started and not stopped signing.
func active(ks []storage.SigningKey, alg jose.SignatureAlgorithm, now time.Time) (storage.SigningKey, bool) {
	var best storage.SigningKey
	found := false
	for _, key := range ks {
		if KeyAlgorithm(key) != alg || key.SignFrom.After(now) || (!key.RetiredAt.IsZero() && !now.Before(key.RetiredAt)) {
			continue
		}
		if !found || key.SignFrom.After(best.SignFrom) {
			best, found = key, true
		}
	}
	return best, found
}

// JWKS returns the published public keys of every algorithm: every key not
// past its expiry, each with its alg and use "sig".
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
		// The stored row says which algorithm the key signs with; a JWK
		// saying otherwise would let verifiers accept the wrong one.
		alg := string(KeyAlgorithm(key))
		if jwk.Algorithm != "" && jwk.Algorithm != alg {
			return set, fmt.Errorf("public key %s is %s but stored as %s", key.ID, jwk.Algorithm, alg)
		}
		jwk.Algorithm = alg
		if jwk.Use == "" {
			jwk.Use = "sig"
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

// PublicKey returns the published key with the given id, reading the store
// again when the id is unknown (another node may have just rotated), but at
// most once per refreshEvery: tokens with made-up key ids cost no read each.
// An id that is still unknown is ErrUnknownKey; other errors are the store's.
func (k *Keyring) PublicKey(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	for _, fresh := range []bool{false, true} {
		if fresh && !k.mayRefresh() {
			break
		}
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
	return nil, ErrUnknownKey
}

// refreshEvery bounds how often an unknown key id makes the keyring read
// the store again.
const refreshEvery = time.Second

// mayRefresh reports whether the key list is old enough to be read again
// for an unknown key id.
func (k *Keyring) mayRefresh() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now().Sub(k.loaded) >= refreshEvery
}

// ErrUnknownKey means no published key has the id a token names.
var ErrUnknownKey = errors.New("unknown signing key")

// Rotate creates the next key of each of algs (every algorithm when none),
// published now and signing from now+ahead (from now when no key of the
// algorithm signs yet: the first key), and retires the current keys of
// the same algorithm at that moment; they stay published for keep more (the
// longest token lifetime), or forever when keep is 0. Keys whose tokens
// have all expired are deleted, whatever their algorithm. It returns the new
// keys, in the order of algs.
func (k *Keyring) Rotate(ctx context.Context, ahead, keep time.Duration, algs ...jose.SignatureAlgorithm) ([]storage.SigningKey, error) {
	if len(algs) == 0 {
		algs = Algorithms
	}
	var want []jose.SignatureAlgorithm
	for _, alg := range algs {
		if err := supported(alg); err != nil {
			return nil, err
		}
		if !slices.Contains(want, alg) {
			want = append(want, alg)
		}
	}
	now := k.now()
	current, err := k.list(ctx, true)
	if err != nil {
		return nil, err
	}
	// Create every new key before retiring any, so a failure leaves the
	// current keys signing.
	next := make([]storage.SigningKey, 0, len(want))
	newest := map[jose.SignatureAlgorithm]storage.SigningKey{}
	for _, alg := range want {
		signFrom := now.Add(ahead)
		if _, ok := active(current, alg, now); !ok {
			// Nothing signs with alg yet: waiting would only make the
			// first token request create a competing key meanwhile.
			signFrom = now
		}
		key, err := k.create(ctx, alg, signFrom)
		if err != nil {
			return next, err
		}
		next = append(next, key)
		newest[alg] = key
	}
	ks, err := k.list(ctx, true)
	if err != nil {
		return next, err
	}
	for _, key := range ks {
		n, ok := newest[KeyAlgorithm(key)]
		if !ok || key.ID == n.ID || !key.RetiredAt.IsZero() {
			continue
		}
		err := k.store.UpdateSigningKey(ctx, key.ID, func(s storage.SigningKey) (storage.SigningKey, error) {
			s.RetiredAt = n.SignFrom
			if keep > 0 {
				s.ExpiresAt = n.SignFrom.Add(keep)
			}
			return s, nil
		})
		if err != nil {
			return next, fmt.Errorf("retire %s key %s: %w", KeyAlgorithm(key), key.ID, err)
		}
	}
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

// create makes and stores a key of alg that signs from signFrom.
func (k *Keyring) create(ctx context.Context, alg jose.SignatureAlgorithm, signFrom time.Time) (storage.SigningKey, error) {
	var (
		pub crypto.PublicKey
		der []byte
	)
	switch alg {
	case jose.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return storage.SigningKey{}, fmt.Errorf("generate ES256 signing key: %w", err)
		}
		// SEC 1 DER, as ES256 keys have always been stored.
		if der, err = x509.MarshalECPrivateKey(priv); err != nil {
			return storage.SigningKey{}, fmt.Errorf("encode ES256 private key: %w", err)
		}
		pub = &priv.PublicKey
	case jose.RS256:
		priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return storage.SigningKey{}, fmt.Errorf("generate RS256 signing key: %w", err)
		}
		if der, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
			return storage.SigningKey{}, fmt.Errorf("encode RS256 private key: %w", err)
		}
		pub = &priv.PublicKey
	default:
		return storage.SigningKey{}, supported(alg)
	}
	id := secrets.RandomID("k")
	jwk, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: id, Algorithm: string(alg), Use: "sig"})
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode %s public key: %w", alg, err)
	}
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	key := storage.SigningKey{ID: id, Algorithm: string(alg), PublicJWK: string(jwk),
		PrivateKey: k.aead.Seal(nonce, nonce, der, []byte(id)), CreatedAt: k.now(), SignFrom: signFrom}
	if err := k.store.CreateSigningKey(ctx, key); err != nil {
		return key, fmt.Errorf("store %s signing key: %w", alg, err)
	}
	_, err = k.list(ctx, true)
	return key, err
}

// decrypt opens a stored private key and parses it as its algorithm's kind.
func (k *Keyring) decrypt(key storage.SigningKey) (crypto.Signer, error) {
	n := k.aead.NonceSize()
	if len(key.PrivateKey) < n {
		return nil, fmt.Errorf("signing key %s is corrupt", key.ID)
	}
	der, err := k.aead.Open(nil, key.PrivateKey[:n], key.PrivateKey[n:], []byte(key.ID))
	if err != nil {
		return nil, fmt.Errorf("decrypt signing key %s (is this the right system secret?): %w", key.ID, err)
	}
	switch alg := KeyAlgorithm(key); alg {
	case jose.ES256:
		priv, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("parse ES256 signing key %s: %w", key.ID, err)
		}
		if priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ES256 signing key %s is not on P-256", key.ID)
		}
		return priv, nil
	case jose.RS256:
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("parse RS256 signing key %s: %w", key.ID, err)
		}
		priv, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("RS256 signing key %s is a %T, not an RSA key", key.ID, parsed)
		}
		if priv.N.BitLen() < rsaBits {
			return nil, fmt.Errorf("RS256 signing key %s has %d bits, fewer than %d", key.ID, priv.N.BitLen(), rsaBits)
		}
		return priv, nil
	default:
		return nil, fmt.Errorf("signing key %s: unsupported algorithm %q", key.ID, alg)
	}
}

// Sorted returns keys ordered by when they start signing, then in the
// order of Algorithms, for listings.
func Sorted(ks []storage.SigningKey) []storage.SigningKey {
	out := append([]storage.SigningKey(nil), ks...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].SignFrom.Equal(out[j].SignFrom) {
			return out[i].SignFrom.Before(out[j].SignFrom)
		}
		return slices.Index(Algorithms, KeyAlgorithm(out[i])) < slices.Index(Algorithms, KeyAlgorithm(out[j]))
	})
	return out
}
