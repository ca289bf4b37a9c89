package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// errNoConsents answers a Directory built without a consent store.
var errNoConsents = errors.New("oauth: directory: this store keeps no consents")

// Consents returns the approvals account id has given, by client.
func (d *Directory) Consents(ctx context.Context, id string) ([]storage.Consent, error) {
	if d.consents == nil {
		return nil, errNoConsents
	}
	if _, err := d.store.GetAccount(ctx, id); err != nil {
		return nil, notFound(err, "account", id)
	}
	cs, err := d.consents.ListConsents(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("list consents of account %q: %w", id, err)
	}
	slices.SortFunc(cs, func(a, b storage.Consent) int {
		return strings.Compare(a.ClientID+" "+string(a.Owner.Type)+":"+a.Owner.ID, b.ClientID+" "+string(b.Owner.Type)+":"+b.Owner.ID)
	})
	return cs, nil
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
	cs, err := d.Consents(ctx, id)
	if err != nil {
		return 0, err
	}
	if !slices.ContainsFunc(cs, func(c storage.Consent) bool { return c.ClientID == clientID }) {
		return 0, restate(storage.ErrNotFound, "account %q has given client %q no consent", id, clientID)
	}
	revoke := func() (int64, error) {
		n, err := d.store.RevokeGrantTokens(ctx, id, clientID, d.now())
		if err != nil {
			return 0, fmt.Errorf("revoke the tokens of client %q for account %q: %w", clientID, id, err)
		}
		return n, nil
	}
	revoked, err := revoke()
	if err != nil {
		return 0, err
	}
	// The events of the consents that went, recorded however this ends; the
	// grant's revocation count goes on the first (they are per owner).
	var events []storage.AuditEvent
	var late int64
	defer func() {
		for i, ev := range events {
			if i == 0 {
				ev.Detail["tokens_revoked"] = strconv.FormatInt(revoked+late, 10)
			}
			d.audit(ctx, ev)
		}
	}()
	n := 0
	for _, c := range cs {
		if c.ClientID != clientID {
			continue
		}
		if err := d.consents.DeleteConsent(ctx, id, clientID, c.Owner); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return n, fmt.Errorf("withdraw consent of account %q to client %q: %w", id, clientID, err)
		}
		n++
		merchant, org := "", ""
		switch c.Owner.Type {
		case storage.OwnerMerchant:
			merchant = c.Owner.ID
		case storage.OwnerOrganization:
			org = c.Owner.ID
		}
		events = append(events, storage.AuditEvent{Type: AuditConsentWithdrawn, Subject: subject("account", id), ClientID: clientID,
			MerchantID: merchant, OrganizationID: org, Detail: map[string]string{"owner": string(c.Owner.Type) + ":" + c.Owner.ID,
				"scope": strings.Join(c.Scopes, " ")}})
	}
	if late, err = revoke(); err != nil {
		// The consents are gone, so withdrawing again would find none:
		// this is the caller's success, and the failure the operator's.
		logger := d.audits.logger
		if logger == nil {
			logger = slog.Default() // as the auditor logs a Directory's lost events
		}
		logger.ErrorContext(ctx, "withdraw consent: revoking what was issued while the consents went failed",
			"account_id", id, "client_id", clientID, "err", err)
		return n, nil
	}
	return n, nil
}
