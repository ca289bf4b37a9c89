package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Audit event types of updates. Detail "fields" names what the caller
// changed, comma-separated, in the caller's words.
const (
	AuditClientUpdated  = "client.updated"
	AuditAccountUpdated = "account.updated"
)

// UpdateClient changes client id atomically: change edits a copy of the
// stored client (and may refuse it, say when an If-Match no longer holds),
// the result is held to the rules of a new client, and it is stored in the
// transaction that read it. What a client is bound to cannot change: its
// id, secret (RotateClientSecret), merchant, kind of account, dialect and
// creation time are kept whatever change does. change returns the names
// of what it changed, in the caller's words, for the audit event.
func (d *Directory) UpdateClient(ctx context.Context, id string, change func(*storage.Client) ([]string, error)) (storage.Client, error) {
	var updated storage.Client
	var fields []string
	err := d.store.UpdateClient(ctx, id, func(old storage.Client) (storage.Client, error) {
		c := old
		var err error
		if fields, err = change(&c); err != nil {
			return old, err
		}
		c.ID, c.SecretHash, c.MerchantID, c.OrganizationID, c.AuthMethod, c.AccountKind, c.Dialect, c.CreatedAt =
			old.ID, old.SecretHash, old.MerchantID, old.OrganizationID, old.AuthMethod, old.AccountKind, old.Dialect, old.CreatedAt
		choices := ClientChoices{Public: old.Public(), RotateRefresh: &c.RotateRefresh,
			ClientCredentialsRefresh: &c.ClientCredentialsRefresh}
		if !c.AllowsGrant(GrantClientCredentials) || !c.AllowsGrant(GrantRefreshToken) {
			off := false
			choices.ClientCredentialsRefresh = &off // it needs both grants; dropping one turns it off
		}
		if err := CheckClient(c, choices, d.dialects); err != nil {
			return old, err
		}
		c = prepareClient(c, choices, d.dialects)
		c.SecretHash = old.SecretHash
		updated = c
		return c, nil
	})
	if err != nil {
		return storage.Client{}, notFound(err, "client", id)
	}
	d.audit(ctx, clientEvent(AuditClientUpdated, updated, map[string]string{"fields": strings.Join(fields, ",")}))
	return updated, nil
}

// UpdateAccount changes account id atomically, as UpdateClient does a
// client: change may set the username, the printed card number and a
// staff account's memberships; the id, kind, merchant, password, state
// and epoch are kept. A staff account that loses a membership loses, in
// the same step, every token, code and session it holds (RevokeAccountTokens),
// since tokens acting for the merchant it left would otherwise live on.
// change returns the names of what it changed, for the audit event.
func (d *Directory) UpdateAccount(ctx context.Context, id string, change func(*storage.Account) ([]string, error)) (storage.Account, error) {
	var updated, before storage.Account
	var fields []string
	var refErr error // a new membership names no merchant or organization
	err := d.store.UpdateAccount(ctx, id, func(old storage.Account) (storage.Account, error) {
		a := old
		a.Memberships = slices.Clone(old.Memberships)
		var err error
		if fields, err = change(&a); err != nil {
			return old, err
		}
		a.ID, a.Kind, a.MerchantID, a.PasswordHash, a.Disabled, a.TokensRevokedAt, a.CreatedAt =
			old.ID, old.Kind, old.MerchantID, old.PasswordHash, old.Disabled, old.TokensRevokedAt, old.CreatedAt
		if err := CheckAccount(a); err != nil {
			return old, err
		}
		for _, m := range a.Memberships {
			if slices.Contains(old.Memberships, m) {
				continue
			}
			if refErr = d.mustExist(ctx, m.Type, m.ID); refErr != nil {
				return old, refErr
			}
		}
		before, updated = old, a
		return a, nil
	})
	switch {
	case refErr != nil:
		return storage.Account{}, refErr
	case errors.Is(err, storage.ErrAlreadyExists):
		return storage.Account{}, usernameTaken(err, updated)
	case err != nil:
		return storage.Account{}, notFound(err, "account", id)
	}
	detail := map[string]string{"fields": strings.Join(fields, ",")}
	if lost := lostMemberships(before.Memberships, updated.Memberships); len(lost) > 0 {
		if err := d.store.RevokeAccountTokens(ctx, id, d.now()); err != nil {
			return storage.Account{}, restate(err, "account %q was changed, but revoking its tokens after it left %s failed; "+
				"revoke them (tokens revoke --account)", id, strings.Join(lost, ", "))
		}
		detail["left"], detail["revoked"] = strings.Join(lost, ","), "tokens,codes,sessions"
	}
	d.audit(ctx, accountEvent(AuditAccountUpdated, updated, detail))
	updated.PasswordHash = ""
	return updated, nil
}

// lostMemberships names the memberships of before that after lacks.
func lostMemberships(before, after []storage.Membership) []string {
	var lost []string
	for _, m := range before {
		if !slices.Contains(after, m) {
			lost = append(lost, string(m.Type)+":"+m.ID)
		}
	}
	return lost
}
