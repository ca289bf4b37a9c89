package sqlstore

import (
	"context"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// A refresh or a code redemption needs the grant and its account. Read
// apart, that was three statements (the grant, the account, its
// memberships); joined, it is one: on PostgreSQL two round trips fewer,
// on SQLite two statement executions fewer. The account's own revocation
// check (accountRevocation) comes from the joined row instead of a second
// lookup. The password hash and the memberships are not read: no grant
// needs them.

// grantAccountColumns are the account columns a grant read joins, as acc,
// never NULL: an empty id means no account. Plain strings and integers
// scan faster than sql.Null* (measured: the refresh of a token with no
// account cost 6 % more CPU with them).
const grantAccountColumns = `COALESCE(acc.id, ''), COALESCE(acc.kind, ''), COALESCE(acc.merchant_id, ''),
	COALESCE(acc.username, ''), COALESCE(acc.printed_card_number, ''), COALESCE(acc.disabled, false),
	COALESCE(acc.created_at, 0), COALESCE(acc.tokens_revoked_at, 0)`

var (
	selectRefreshGrant = `SELECT ` + qualify("t", refreshColumns) + familyRevokedAt + `, ` + grantAccountColumns + `
		FROM refresh_tokens t LEFT JOIN accounts acc ON acc.id = t.account_id WHERE t.id = $1`
	selectCodeGrant = `SELECT ` + qualify("c", codeColumns) + `, ` + grantAccountColumns + `
		FROM auth_codes c LEFT JOIN accounts acc ON acc.id = c.account_id WHERE c.id = $1`
)

// qualify prefixes each of the comma-separated columns with table.
func qualify(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// GetRefreshGrant loads a refresh token and its account in one query.
func (s *Store) GetRefreshGrant(ctx context.Context, id string) (storage.RefreshToken, *storage.Account, error) {
	var acc joinedAccount
	var familyRevoked int64
	t, own, err := scanRefreshRow(s.reader.QueryRowContext(ctx, selectRefreshGrant, id), &familyRevoked,
		&acc.id, &acc.kind, &acc.merchant, &acc.username, &acc.card, &acc.disabled, &acc.created, &acc.revoked)
	if err != nil {
		return t, nil, s.wrap(err, "get refresh token")
	}
	t.RevokedAt = fromMS(revokedAt(own, familyRevoked, acc.revokedSince(ms(t.AccountEpoch))))
	return t, acc.account(), nil
}

// GetAuthCodeGrant loads an authorization code and its account in one query.
func (s *Store) GetAuthCodeGrant(ctx context.Context, id string) (storage.AuthCode, *storage.Account, error) {
	var acc joinedAccount
	c, err := scanCode(s.reader.QueryRowContext(ctx, selectCodeGrant, id),
		&acc.id, &acc.kind, &acc.merchant, &acc.username, &acc.card, &acc.disabled, &acc.created, &acc.revoked)
	if err != nil {
		return c, nil, s.wrap(err, "get authorization code")
	}
	return c, acc.account(), nil
}

// joinedAccount is grantAccountColumns as scanned.
type joinedAccount struct {
	id, kind, merchant, username, card string
	disabled                           bool
	created, revoked                   int64
}

// account is the joined account, nil when the row had none.
func (j *joinedAccount) account() *storage.Account {
	if j.id == "" {
		return nil
	}
	return &storage.Account{ID: j.id, Kind: storage.AccountKind(j.kind), MerchantID: j.merchant, Username: j.username,
		PrintedCardNumber: j.card, Disabled: j.disabled, CreatedAt: fromMS(j.created), TokensRevokedAt: fromMS(j.revoked)}
}

// revokedSince is what accountRevokedAt selects, from the joined row: when
// the account's tokens were revoked, if that was after a grant issued at
// epoch (milliseconds); 0 if not, or if there is no account.
func (j *joinedAccount) revokedSince(epoch int64) int64 {
	if j.id == "" || j.revoked == epoch {
		return 0
	}
	return j.revoked
}
