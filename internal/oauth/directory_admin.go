package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// MaxPublishAhead bounds how long a new signing key is published before it
// signs: resource servers refresh their JWKS within minutes, not months.
const MaxPublishAhead = 30 * 24 * time.Hour

// AuditKeysRotated is the event type of a signing key rotation (detail:
// count, the keys published).
const AuditKeysRotated = "keys.rotated"

// RotateKeys publishes a new signing key of each algorithm named (every
// one when none is), which signs after ahead; the old keys stay published
// for KeyRetention. It checks the algorithms and records the rotation, for
// the CLI and the admin API alike. An unknown algorithm is ErrRejected.
func (d *Directory) RotateKeys(ctx context.Context, ahead time.Duration, names ...string) ([]storage.SigningKey, error) {
	if d.signingKeys == nil {
		return nil, errors.New("rotate signing keys: this directory has no signing key store")
	}
	if ahead < 0 || ahead > MaxPublishAhead {
		return nil, rejectf("--publish-ahead %s must be 0 to %s", ahead, MaxPublishAhead)
	}
	var algs []jose.SignatureAlgorithm
	for _, n := range names {
		alg := jose.SignatureAlgorithm(strings.ToUpper(strings.TrimSpace(n)))
		if !slices.Contains(signing.Algorithms, alg) {
			return nil, rejectf("--alg %q must be one of %s", n, SigningAlgNames())
		}
		algs = append(algs, alg)
	}
	keep, err := d.KeyRetention(ctx)
	if err != nil {
		return nil, err
	}
	kr, err := signing.New(d.signingKeys, d.keys, d.now)
	if err != nil {
		return nil, fmt.Errorf("rotate signing keys: %w", err)
	}
	ks, err := kr.Rotate(ctx, ahead, keep, algs...)
	if err != nil {
		return nil, fmt.Errorf("rotate signing keys: %w", err)
	}
	d.audit(ctx, storage.AuditEvent{Type: AuditKeysRotated, Subject: "keys", Detail: map[string]string{"count": strconv.Itoa(len(ks))}})
	return ks, nil
}

// SigningAlgNames lists the signing algorithms RotateKeys takes, for messages and help.
func SigningAlgNames() string {
	names := make([]string, len(signing.Algorithms))
	for i, a := range signing.Algorithms {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// Audit event types of the administrative revocations. Detail "revoked"
// says what went: "tokens,codes,sessions" for an account, else
// "tokens,codes"; "count" is how many tokens were live and are revoked.
const (
	AuditAccountTokensRevoked  = "account.tokens_revoked"
	AuditClientTokensRevoked   = "client.tokens_revoked"
	AuditMerchantTokensRevoked = "merchant.tokens_revoked"
)

// RevokeAccountTokens revokes, as of now, every token and code issued to
// account id and ends its sessions, leaving its password and state as they
// are: the store moves the account's epoch (Account.TokensRevokedAt) in
// one write, as a password change does.
func (d *Directory) RevokeAccountTokens(ctx context.Context, id string) error {
	if err := d.store.RevokeAccountTokens(ctx, id, d.now()); err != nil {
		return notFound(err, "account", id)
	}
	d.audit(ctx, accountEvent(AuditAccountTokensRevoked, d.accountForEvent(ctx, id),
		map[string]string{"revoked": "tokens,codes,sessions"}))
	return nil
}

// RevokeClientTokens revokes, as of now, every live token of client id,
// whoever it acts for, and spends its pending codes, keeping the client,
// its secret and its consents. Its JWT access tokens read as revoked to
// introspection; a resource server that only checks their signature
// accepts them until they expire.
func (d *Directory) RevokeClientTokens(ctx context.Context, id string) error {
	c, err := d.Client(ctx, id)
	if err != nil {
		return err
	}
	n, err := d.store.RevokeClientTokens(ctx, id, d.now())
	if err != nil {
		return notFound(err, "client", id)
	}
	d.audit(ctx, clientEvent(AuditClientTokensRevoked, c, revokedDetail(n)))
	return nil
}

// RevokeMerchantTokens revokes, as of now, everything of merchant id: the
// tokens and codes acting for it, those of its guests, and those of the
// clients bound to it (see storage.Revocations.RevokeOwnerTokens), in one
// transaction. Its staff's tokens for other merchants and their sessions
// stay; revoke a person's by account.
func (d *Directory) RevokeMerchantTokens(ctx context.Context, id string) error {
	m, err := d.Merchant(ctx, id)
	if err != nil {
		return err
	}
	n, err := d.store.RevokeOwnerTokens(ctx, storage.ResourceOwner{Type: storage.OwnerMerchant, ID: id}, d.now())
	if err != nil {
		return notFound(err, "merchant", id)
	}
	d.audit(ctx, storage.AuditEvent{Type: AuditMerchantTokensRevoked, Subject: subject("merchant", id), MerchantID: id,
		OrganizationID: m.OrganizationID, Detail: revokedDetail(n)})
	return nil
}

// revokedDetail is the detail of a revocation event that revoked n tokens.
func revokedDetail(n int64) map[string]string {
	return map[string]string{"revoked": "tokens,codes", "count": strconv.FormatInt(n, 10)}
}

// KeyRetention is how long retired signing keys stay published: the
// longest lifetime of what they signed, ID tokens or the access tokens of
// the clients that get JWTs (0, forever, if one never expires).
func (d *Directory) KeyRetention(ctx context.Context) (time.Duration, error) {
	cs, err := d.store.ListClients(ctx)
	if err != nil {
		return 0, fmt.Errorf("list clients: %w", err)
	}
	longest := max(time.Hour, IDTokenTTL)
	for _, c := range cs {
		if c.AccessTokenFormat != "jwt" {
			continue
		}
		if c.AccessTokenTTL == 0 {
			return 0, nil
		}
		longest = max(longest, c.AccessTokenTTL)
	}
	return longest, nil
}

// ForgetClient drops client id from this server's client cache, so a
// rotated secret or a deleted client takes effect here at once (other
// nodes follow within ClientCacheTTL).
func (s *Server) ForgetClient(id string) { s.clients.forget(id) }

// ForgetMerchant drops merchant id from this server's merchant cache.
func (s *Server) ForgetMerchant(id string) { s.merchants.forget(id) }

// forget drops id from the cache.
func (c *ttlCache[T]) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
