package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// errNoConsents answers a Directory built without a consent store.
var errNoConsents = errors.New("oauth: directory: this store keeps no consents")

// Consents returns the approvals account id has given, by client.
func (d *Directory) Consents(ctx context.Context, id string) ([]storage.Consent, error) {
	_, cs, err := d.accountConsents(ctx, id)
	return cs, err
}

// accountConsents is Consents with the account.
func (d *Directory) accountConsents(ctx context.Context, id string) (storage.Account, []storage.Consent, error) {
	if d.consents == nil {
		return storage.Account{}, nil, errNoConsents
	}
	a, err := d.store.GetAccount(ctx, id)
	if err != nil {
		return a, nil, notFound(err, "account", id)
	}
	cs, err := d.consents.ListConsents(ctx, id)
	if err != nil {
		return a, nil, fmt.Errorf("list consents of account %q: %w", id, err)
	}
	slices.SortFunc(cs, func(a, b storage.Consent) int {
		return strings.Compare(a.ClientID+" "+string(a.Owner.Type)+":"+a.Owner.ID, b.ClientID+" "+string(b.Owner.Type)+":"+b.Owner.ID)
	})
	return a, cs, nil
}

// WithdrawConsent forgets every approval account id gave client clientID
// (one per resource owner), so the client's next authorization request
// asks the person again, and revokes what the client was issued for the
// account (storage.Revocations.RevokeGrantTokens): a person who takes
// back an app's access expects the app to lose it now, not when its
// refresh token expires. It returns how many consents went. The tokens go
// first, so that if forgetting the consents then fails, withdrawing again
// finishes it, and again after the consents are gone, for what an
// authorization that read a consent before it went was issued meanwhile.
// JWT access tokens read as revoked to introspection; a resource server
// that only checks their signature accepts them until they expire.
func (d *Directory) WithdrawConsent(ctx context.Context, id, clientID string) (int, error) {
	a, cs, err := d.accountConsents(ctx, id)
	if err != nil {
		return 0, err
	}
	cs = slices.DeleteFunc(cs, func(c storage.Consent) bool { return c.ClientID != clientID })
	if len(cs) == 0 {
		return 0, restate(storage.ErrNotFound, "account %q has given client %q no consent", id, clientID)
	}
	revoked, err := d.store.RevokeGrantTokens(ctx, id, clientID, d.now())
	if err != nil {
		return 0, fmt.Errorf("revoke the tokens of client %q for account %q: %w", clientID, id, err)
	}
	n := 0
	for _, c := range cs {
		err := d.consents.DeleteConsent(ctx, id, clientID, c.Owner)
		if errors.Is(err, storage.ErrNotFound) {
			continue // withdrawn meanwhile, by a call that records it
		}
		if err != nil {
			return n, fmt.Errorf("withdraw consent of account %q to client %q: %w", id, clientID, err)
		}
		ev := storage.AuditEvent{Type: AuditConsentWithdrawn, Subject: subject("account", id), ClientID: clientID,
			Detail: map[string]string{"owner": string(c.Owner.Type) + ":" + c.Owner.ID, "scope": strings.Join(c.Scopes, " ")}}
		ownerTenant(&ev, c.Owner, a.MerchantID)
		if n == 0 {
			// The grant's count, once: the events are per owner.
			ev.Detail["tokens_revoked"] = strconv.FormatInt(revoked, 10)
		}
		d.audit(ctx, ev)
		n++
	}
	if n == 0 {
		return 0, restate(storage.ErrNotFound, "account %q has given client %q no consent", id, clientID)
	}
	// Again, for what an authorization that read a consent before it went
	// was issued meanwhile. The consents are gone, so withdrawing again would
	// find none: a failure here is the operator's, not the caller's.
	if late, err := d.store.RevokeGrantTokens(ctx, id, clientID, d.now()); err != nil {
		d.audits.logger.ErrorContext(ctx, "withdraw consent: revoking what was issued while the consents went failed",
			"account_id", id, "client_id", clientID, "err", err)
	} else if late > 0 {
		ev := storage.AuditEvent{Type: AuditConsentWithdrawn, Subject: subject("account", id), ClientID: clientID,
			Detail: map[string]string{"tokens_revoked": strconv.FormatInt(late, 10), "late": "true"}}
		ownerTenant(&ev, cs[0].Owner, a.MerchantID)
		d.audit(ctx, ev)
	}
	return n, nil
}
