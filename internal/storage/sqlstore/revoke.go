package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// RevokeAccountTokens moves the account's epoch, as revokeAccount does for
// a new password, without changing anything else of the account.
func (s *Store) RevokeAccountTokens(ctx context.Context, accountID string, now time.Time) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		err := oneRow(tx.ExecContext(ctx, `UPDATE accounts SET tokens_revoked_at =
			CASE WHEN tokens_revoked_at < $2 THEN $2 ELSE tokens_revoked_at + 1 END WHERE id = $1`, accountID, ms(now)))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1`, accountID)
		return err
	})
	return s.wrap(err, "revoke tokens of account %q", accountID)
}

// RevokeClientTokens revokes every live token and code of a client.
func (s *Store) RevokeClientTokens(ctx context.Context, clientID string, now time.Time) (int64, error) {
	n, err := s.revokeWhere(ctx, "clients", clientID, `client_id = $2`, []any{clientID}, now)
	return n, s.wrap(err, "revoke tokens of client %q", clientID)
}

// RevokeGrantTokens revokes every live token and code client clientID was
// issued for account accountID.
func (s *Store) RevokeGrantTokens(ctx context.Context, accountID, clientID string, now time.Time) (int64, error) {
	n, err := s.revokeWhere(ctx, "accounts", accountID, `client_id = $2 AND account_id = $3`, []any{clientID, accountID}, now)
	return n, s.wrap(err, "revoke tokens of client %q for account %q", clientID, accountID)
}

// ownerTables is the table each owner type's id is a key of.
var ownerTables = map[storage.OwnerType]string{
	storage.OwnerMerchant:     "merchants",
	storage.OwnerOrganization: "organizations",
	storage.OwnerGuest:        "accounts",
	storage.OwnerClient:       "clients",
}

// merchantScope is everything of merchant $3 (see storage.Revocations):
// what acts for it, what acts for its guests, and what its bound clients
// were issued. The subqueries read the accounts_merchant and
// clients_merchant indexes.
const merchantScope = `((owner_type = $2 AND owner_id = $3)
	OR (owner_type = '` + string(storage.OwnerGuest) + `' AND owner_id IN
		(SELECT id FROM accounts WHERE kind = '` + string(storage.Guest) + `' AND merchant_id = $3))
	OR client_id IN (SELECT id FROM clients WHERE merchant_id = $3))`

// RevokeOwnerTokens revokes every live token and code acting for owner, and
// for a merchant also those of its guests and of its bound clients.
func (s *Store) RevokeOwnerTokens(ctx context.Context, owner storage.ResourceOwner, now time.Time) (int64, error) {
	table, ok := ownerTables[owner.Type]
	if !ok {
		return 0, fmt.Errorf("revoke tokens of owner %s:%s: owner type %q is not merchant, organization, guest or client",
			owner.Type, owner.ID, owner.Type)
	}
	scope := `owner_type = $2 AND owner_id = $3`
	if owner.Type == storage.OwnerMerchant {
		scope = merchantScope
	}
	n, err := s.revokeWhere(ctx, table, owner.ID, scope, []any{string(owner.Type), owner.ID}, now)
	return n, s.wrap(err, "revoke tokens of %s %q", owner.Type, owner.ID)
}

// liveToken is the condition of a token row not yet revoked at $1: not by
// itself, its family or its account, and not expired. A rotated refresh
// token is included: it no longer rotates, but it reads as revoked after.
const liveToken = `revoked_at = 0 AND (expires_at = 0 OR expires_at > $1)
	AND NOT EXISTS ` + familyRevocation + ` AND NOT EXISTS ` + accountRevocation

// revokeWhere revokes, in one write, the live tokens and the unused codes
// that scope selects; scope is a condition on the columns every token and
// code table has (client_id, account_id, owner_type, owner_id), with args as $2 on ($1
// is now). The key must exist in table. It returns the number of tokens
// revoked. The tables have no index on these columns: each statement scans
// its table: 60-95 ms on SQLite with 200,000 token rows of other clients,
// rare enough for an administrative call that no index (which every token
// insert would pay for) is kept for it.
//
// Order matters on PostgreSQL, where writes commit in parallel. Codes go
// first: a redemption that marked its code used before waits here on that
// row, then commits its tokens before the token statements below start and
// so are seen by them (each statement reads what committed before it
// started); one after finds its code spent. A rotation is the same with
// its old refresh token: whichever locked it first, the successor is
// committed before the access and second refresh statements start, or the
// rotation finds the old token revoked. Tokens stored by a grant that read
// nothing revoked here (a new login) are not revoked: they were issued at
// the same time as the revocation.
func (s *Store) revokeWhere(ctx context.Context, table, key, scope string, args []any, now time.Time) (int64, error) {
	var revoked int64
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		revoked = 0 // the batch may be retried
		if s.flavor.Name() == "postgres" {
			// The statements below lock many token rows in scan order, which
			// can deadlock with a batch of rotations locking some of them in
			// its own order. PostgreSQL finds a deadlock only after
			// deadlock_timeout (1 s), as long as a whole storage call may take
			// (CallTimeout): waiting at most 100 ms for a lock makes the
			// revocation give up first, and the batch is retried (Retryable).
			if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '100ms'`); err != nil {
				return err
			}
			defer tx.ExecContext(ctx, `SET LOCAL lock_timeout TO DEFAULT`)
		}
		if err := mustExist(ctx, tx, table, key); err != nil {
			return err
		}
		args := append([]any{ms(now)}, args...)
		if _, err := tx.ExecContext(ctx, `UPDATE auth_codes SET used_at = $1
			WHERE used_at = 0 AND expires_at > $1 AND `+scope, args...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_codes SET status = '`+string(storage.DeviceDenied)+`'
			WHERE status IN ('`+string(storage.DevicePending)+`', '`+string(storage.DeviceApproved)+`')
			AND expires_at > $1 AND `+scope, args...); err != nil {
			return err
		}
		for _, stmt := range []string{
			`UPDATE refresh_tokens SET revoked_at = $1 WHERE ` + liveToken + ` AND ` + scope,
			`UPDATE access_tokens SET revoked_at = $1 WHERE ` + liveToken + ` AND ` + scope,
			// The successors of rotations that committed while the first statement waited.
			`UPDATE refresh_tokens SET revoked_at = $1 WHERE ` + liveToken + ` AND ` + scope,
		} {
			n, err := rowsAffected(tx.ExecContext(ctx, stmt, args...))
			if err != nil {
				return err
			}
			revoked += n
		}
		return nil
	})
	return revoked, err
}
