package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotSupported marks an administrative operation the storage layer
// cannot do yet; the message says which.
var ErrNotSupported = errors.New("not supported")

// RevokeAccountTokens revokes, as of now, every token and code issued to
// account id and ends its sessions, leaving its password and state as they
// are. It goes through the store's SetAccountPassword with the password
// hash the account already has (the store offers no revocation by account
// on its own). A password changed between the read and the write here
// would be set back, so this is not meant to race a password change; a
// store call that only moves Account.TokensRevokedAt would remove that.
func (d *Directory) RevokeAccountTokens(ctx context.Context, id string) error {
	a, err := d.store.GetAccount(ctx, id)
	if err != nil {
		return notFound(err, "account", id)
	}
	return notFound(d.store.SetAccountPassword(ctx, id, a.PasswordHash, d.now()), "account", id)
}

// RevokeClientTokens would revoke every token of client id without
// deleting it. The store has no call for it: tokens are found by their
// hash or family only.
func (d *Directory) RevokeClientTokens(ctx context.Context, id string) error {
	if _, err := d.Client(ctx, id); err != nil {
		return err
	}
	return &dirError{msg: fmt.Sprintf("revoking every token of client %q is not supported by the store yet; "+
		"delete the client (which deletes its tokens) or revoke the tokens one by one", id), cause: []error{ErrNotSupported}}
}

// RevokeMerchantTokens would revoke every token acting for merchant id.
// The store has no call for it (tokens of the merchant's clients and of
// staff acting for it cannot be listed).
func (d *Directory) RevokeMerchantTokens(ctx context.Context, id string) error {
	if _, err := d.Merchant(ctx, id); err != nil {
		return err
	}
	return &dirError{msg: fmt.Sprintf("revoking every token of merchant %q is not supported by the store yet; "+
		"revoke its accounts' tokens by account_id", id), cause: []error{ErrNotSupported}}
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
