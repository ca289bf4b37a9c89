package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

const accountColumns = `id, kind, merchant_id, username, password_hash, printed_card_number, disabled, created_at,
	tokens_revoked_at`

// realm scopes a username: guests are unique per merchant, staff globally.
func realm(kind storage.AccountKind, merchantID string) string {
	if kind == storage.Guest {
		return merchantID
	}
	return ""
}

// usernameKey is the form usernames are compared in.
func usernameKey(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// CreateAccount stores a new account and its memberships.
func (s *Store) CreateAccount(ctx context.Context, a storage.Account) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		if err := checkAccountRefs(ctx, tx, a); err != nil {
			return err
		}
		// tokens_revoked_at keeps its default: nothing of a new account was revoked.
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, kind, merchant_id, realm, username, username_key,
			password_hash, printed_card_number, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.ID, string(a.Kind), nullable(a.MerchantID), realm(a.Kind, a.MerchantID), a.Username, usernameKey(a.Username),
			a.PasswordHash, a.PrintedCardNumber, a.Disabled, ms(a.CreatedAt))
		if err != nil {
			return err
		}
		return insertMemberships(ctx, tx, a)
	})
	return s.wrap(err, "create account %q", a.Username)
}

// checkAccountRefs makes sure an account's merchant and memberships exist.
func checkAccountRefs(ctx context.Context, tx *wtx, a storage.Account) error {
	if !a.Kind.Valid() {
		return fmt.Errorf("account kind %q is not guest or staff", a.Kind)
	}
	if a.Kind == storage.Guest && a.MerchantID == "" {
		return fmt.Errorf("a guest account needs a merchant")
	}
	if a.MerchantID != "" {
		if err := mustExist(ctx, tx, "merchants", a.MerchantID); err != nil {
			return fmt.Errorf("merchant %q: %w", a.MerchantID, err)
		}
	}
	for _, m := range a.Memberships {
		table := map[storage.OwnerType]string{storage.OwnerMerchant: "merchants", storage.OwnerOrganization: "organizations"}[m.Type]
		if table == "" {
			return fmt.Errorf("membership type %q is not merchant or organization", m.Type)
		}
		if err := mustExist(ctx, tx, table, m.ID); err != nil {
			return fmt.Errorf("%s %q: %w", m.Type, m.ID, err)
		}
	}
	return nil
}

func insertMemberships(ctx context.Context, tx *wtx, a storage.Account) error {
	for _, m := range a.Memberships {
		if _, err := tx.ExecContext(ctx, `INSERT INTO account_memberships (account_id, owner_type, owner_id) VALUES ($1, $2, $3)`,
			a.ID, string(m.Type), m.ID); err != nil {
			return err
		}
	}
	return nil
}

// GetAccount loads an account with its memberships.
func (s *Store) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	a, err := s.getAccount(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id)
	return a, s.wrap(err, "get account %q", id)
}

// GetAccountByUsername finds an account by the name it logs in with.
func (s *Store) GetAccountByUsername(ctx context.Context, kind storage.AccountKind, merchantID, username string) (storage.Account, error) {
	a, err := s.getAccount(ctx, `SELECT `+accountColumns+` FROM accounts WHERE kind = $1 AND realm = $2 AND username_key = $3`,
		string(kind), realm(kind, merchantID), usernameKey(username))
	return a, s.wrap(err, "get %s account by username", kind)
}

func (s *Store) getAccount(ctx context.Context, query string, args ...any) (storage.Account, error) {
	a, err := scanAccount(s.reader.QueryRowContext(ctx, query, args...))
	if err != nil {
		return a, err
	}
	a.Memberships, err = memberships(ctx, s.reader, a.ID)
	return a, err
}

// ListAccounts returns the accounts f selects, by username.
func (s *Store) ListAccounts(ctx context.Context, f storage.AccountFilter) ([]storage.Account, error) {
	q := `SELECT ` + accountColumns + ` FROM accounts WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR merchant_id = $2)`
	args := []any{string(f.Kind), f.MerchantID}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if len(f.Within) > 0 {
		var merchants, members []string
		for _, m := range f.Within {
			if m.Type == storage.OwnerMerchant {
				merchants = append(merchants, arg(m.ID))
			}
			members = append(members, "(owner_type = "+arg(string(m.Type))+" AND owner_id = "+arg(m.ID)+")")
		}
		guests := "FALSE"
		if len(merchants) > 0 {
			guests = "merchant_id IN (" + strings.Join(merchants, ", ") + ")"
		}
		q += ` AND ((kind = 'guest' AND ` + guests + `) OR (kind = 'staff' AND EXISTS (SELECT 1 FROM account_memberships
			WHERE account_id = accounts.id AND (` + strings.Join(members, " OR ") + `))))`
	}
	if f.After == "" && f.Limit <= 0 {
		q += ` ORDER BY username_key, id`
	} else {
		q += ` AND id > ` + arg(f.After) + ` ORDER BY id`
		if f.Limit > 0 {
			q += ` LIMIT ` + arg(f.Limit)
		}
	}
	as, err := list(ctx, s.reader, scanAccount, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list accounts")
	}
	for i := range as {
		if as[i].Kind != storage.Staff {
			continue // only staff have memberships: a page of guests costs one query
		}
		if as[i].Memberships, err = memberships(ctx, s.reader, as[i].ID); err != nil {
			return nil, s.wrap(err, "list accounts")
		}
	}
	return as, nil
}

// UpdateAccount applies fn to the stored account and saves the result; the
// id and kind cannot change.
func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(storage.Account) (storage.Account, error)) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		old, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`+s.lockRow(), id))
		if err != nil {
			return err
		}
		if old.Memberships, err = memberships(ctx, tx, id); err != nil {
			return err
		}
		a, err := fn(old)
		if err != nil {
			return err
		}
		a.ID, a.Kind = old.ID, old.Kind
		if err := checkAccountRefs(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET merchant_id = $2, realm = $3, username = $4, username_key = $5,
			password_hash = $6, printed_card_number = $7, disabled = $8 WHERE id = $1`,
			a.ID, nullable(a.MerchantID), realm(a.Kind, a.MerchantID), a.Username, usernameKey(a.Username),
			a.PasswordHash, a.PrintedCardNumber, a.Disabled); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_memberships WHERE account_id = $1`, id); err != nil {
			return err
		}
		return insertMemberships(ctx, tx, a)
	})
	return s.wrap(err, "update account %q", id)
}

// SetAccountPassword stores a new password hash and revokes, in the same
// transaction, what the old password let in.
func (s *Store) SetAccountPassword(ctx context.Context, id, passwordHash string, now time.Time) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		return revokeAccount(ctx, tx, id, now, `password_hash = $3`, passwordHash)
	})
	return s.wrap(err, "set password of account %q", id)
}

// SetAccountDisabled disables or enables an account; disabling revokes, in
// the same transaction, what the account was trusted with.
func (s *Store) SetAccountDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		if !disabled {
			return oneRow(tx.ExecContext(ctx, `UPDATE accounts SET disabled = $2 WHERE id = $1`, id, false))
		}
		return revokeAccount(ctx, tx, id, now, `disabled = $3`, true)
	})
	return s.wrap(err, "set account %q disabled", id)
}

// revokeAccount applies set (with its value as $3) to the account and
// revokes everything issued to it as of now: moving tokens_revoked_at makes
// every token and code that recorded the old value read as revoked (see
// migration 0007), one row written whatever their number, and a grant
// racing this one, having read the account before, stores tokens with the
// old value too. The time only moves forward, so two revocations within a
// millisecond still differ. Sessions are deleted.
func revokeAccount(ctx context.Context, tx *wtx, id string, now time.Time, set string, value any) error {
	err := oneRow(tx.ExecContext(ctx, `UPDATE accounts SET `+set+`, tokens_revoked_at =
		CASE WHEN tokens_revoked_at < $2 THEN $2 ELSE tokens_revoked_at + 1 END WHERE id = $1`, id, ms(now), value))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1`, id)
	return err
}

// DeleteAccount removes an account with its memberships, consents, sessions and tokens.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error { return deleteRow(ctx, tx, "accounts", id) })
	return s.wrap(err, "delete account %q", id)
}

func scanAccount(row scanner) (storage.Account, error) {
	var a storage.Account
	var kind string
	var merchant nullString
	var created, revoked int64
	err := row.Scan(&a.ID, &kind, &merchant, &a.Username, &a.PasswordHash, &a.PrintedCardNumber, &a.Disabled, &created, &revoked)
	a.Kind, a.MerchantID, a.CreatedAt, a.TokensRevokedAt = storage.AccountKind(kind), merchant.String, fromMS(created), fromMS(revoked)
	return a, err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func memberships(ctx context.Context, q querier, accountID string) ([]storage.Membership, error) {
	rows, err := q.QueryContext(ctx, `SELECT owner_type, owner_id FROM account_memberships WHERE account_id = $1 ORDER BY owner_type, owner_id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Membership
	for rows.Next() {
		var t, id string
		if err := rows.Scan(&t, &id); err != nil {
			return nil, err
		}
		out = append(out, storage.Membership{Type: storage.OwnerType(t), ID: id})
	}
	return out, rows.Err()
}
