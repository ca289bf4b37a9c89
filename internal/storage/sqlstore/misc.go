package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// GetConsent loads the consent an account gave a client for an owner.
func (s *Store) GetConsent(ctx context.Context, accountID, clientID string, owner storage.ResourceOwner) (storage.Consent, error) {
	c, err := scanConsent(s.reader.QueryRowContext(ctx, `SELECT account_id, client_id, owner_type, owner_id, scopes, granted_at
		FROM consents WHERE account_id = $1 AND client_id = $2 AND owner_type = $3 AND owner_id = $4`,
		accountID, clientID, string(owner.Type), owner.ID))
	return c, s.wrap(err, "get consent")
}

// SaveConsent creates or replaces a consent.
func (s *Store) SaveConsent(ctx context.Context, c storage.Consent) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO consents (account_id, client_id, owner_type, owner_id, scopes, granted_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, client_id, owner_type, owner_id)
			DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
			c.AccountID, c.ClientID, string(c.Owner.Type), c.Owner.ID, words(c.Scopes), ms(c.GrantedAt))
		return err
	})
	return s.wrap(err, "save consent")
}

// ListConsents returns an account's consents.
func (s *Store) ListConsents(ctx context.Context, accountID string) ([]storage.Consent, error) {
	cs, err := list(ctx, s.reader, scanConsent, `SELECT account_id, client_id, owner_type, owner_id, scopes, granted_at
		FROM consents WHERE account_id = $1 ORDER BY client_id, owner_type, owner_id`, accountID)
	return cs, s.wrap(err, "list consents")
}

// DeleteConsent removes a consent.
func (s *Store) DeleteConsent(ctx context.Context, accountID, clientID string, owner storage.ResourceOwner) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM consents WHERE account_id = $1 AND client_id = $2 AND owner_type = $3 AND owner_id = $4`,
			accountID, clientID, string(owner.Type), owner.ID)
		return oneRow(res, err)
	})
	return s.wrap(err, "delete consent")
}

func scanConsent(row scanner) (storage.Consent, error) {
	var c storage.Consent
	var ownerType, scopes string
	var granted int64
	err := row.Scan(&c.AccountID, &c.ClientID, &ownerType, &c.Owner.ID, &scopes, &granted)
	c.Owner.Type, c.Scopes, c.GrantedAt = storage.OwnerType(ownerType), fromWords(scopes), fromMS(granted)
	return c, err
}

// oneRow turns a statement that changed no row into storage.ErrNotFound.
func oneRow(res sql.Result, err error) error {
	n, err := rowsAffected(res, err)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return err
}

// CreateSession stores a browser session.
func (s *Store) CreateSession(ctx context.Context, se storage.Session) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, account_id, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			se.ID, se.AccountID, ms(se.AuthTime), ms(se.CreatedAt), ms(se.ExpiresAt))
		return err
	})
	return s.wrap(err, "create session")
}

// GetSession loads a session, expired or not.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var se storage.Session
	var auth, created, expires int64
	err := s.reader.QueryRowContext(ctx, `SELECT id, account_id, auth_time, created_at, expires_at FROM sessions WHERE id = $1`, id).
		Scan(&se.ID, &se.AccountID, &auth, &created, &expires)
	se.AuthTime, se.CreatedAt, se.ExpiresAt = fromMS(auth), fromMS(created), fromMS(expires)
	return se, s.wrap(err, "get session")
}

// DeleteSession removes a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error { return deleteRow(ctx, tx, "sessions", id) })
	return s.wrap(err, "delete session")
}

const keyColumns = `id, algorithm, public_jwk, private_key, created_at, sign_from, retired_at, expires_at`

func keyArgs(k storage.SigningKey) []any {
	return []any{k.ID, k.Algorithm, k.PublicJWK, base64.StdEncoding.EncodeToString(k.PrivateKey),
		ms(k.CreatedAt), ms(k.SignFrom), ms(k.RetiredAt), ms(k.ExpiresAt)}
}

// CreateSigningKey stores a signing key.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, keyArgs(k)...)
		return err
	})
	return s.wrap(err, "create signing key %q", k.ID)
}

// ListSigningKeys returns every signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	ks, err := list(ctx, s.reader, scanKey, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at, id`)
	return ks, s.wrap(err, "list signing keys")
}

// UpdateSigningKey applies fn to a stored key and saves it; the id cannot change.
func (s *Store) UpdateSigningKey(ctx context.Context, id string, fn func(storage.SigningKey) (storage.SigningKey, error)) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		old, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE id = $1`+s.lockRow(), id))
		if err != nil {
			return err
		}
		k, err := fn(old)
		if err != nil {
			return err
		}
		k.ID = old.ID
		_, err = tx.ExecContext(ctx, `UPDATE signing_keys SET algorithm = $2, public_jwk = $3, private_key = $4,
			created_at = $5, sign_from = $6, retired_at = $7, expires_at = $8 WHERE id = $1`, keyArgs(k)...)
		return err
	})
	return s.wrap(err, "update signing key %q", id)
}

// DeleteSigningKey removes a signing key.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error { return deleteRow(ctx, tx, "signing_keys", id) })
	return s.wrap(err, "delete signing key %q", id)
}

func scanKey(row scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	var priv string
	var created, from, retired, expires int64
	if err := row.Scan(&k.ID, &k.Algorithm, &k.PublicJWK, &priv, &created, &from, &retired, &expires); err != nil {
		return k, err
	}
	k.CreatedAt, k.SignFrom, k.RetiredAt, k.ExpiresAt = fromMS(created), fromMS(from), fromMS(retired), fromMS(expires)
	var err error
	if k.PrivateKey, err = base64.StdEncoding.DecodeString(priv); err != nil {
		return k, fmt.Errorf("decode signing key %q: %w", k.ID, err)
	}
	return k, nil
}

const deviceColumns = `id, user_code_hash, client_id, scopes, status, account_id, owner_type, owner_id, interval_ms, created_at, expires_at,
	last_polled_at, account_epoch, auth_time`

// CreateDeviceCode stores a new device authorization.
func (s *Store) CreateDeviceCode(ctx context.Context, d storage.DeviceCode) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO device_codes (`+deviceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			d.ID, d.UserCodeHash, d.ClientID, words(d.Scopes), string(d.Status), nullable(d.AccountID), string(d.Owner.Type),
			d.Owner.ID, d.Interval.Milliseconds(), ms(d.CreatedAt), ms(d.ExpiresAt), ms(d.LastPolledAt), ms(d.AccountEpoch), ms(d.AuthTime))
		return err
	})
	return s.wrap(err, "create device code")
}

// GetDeviceCode loads a device authorization by the hash of its device code.
func (s *Store) GetDeviceCode(ctx context.Context, id string) (storage.DeviceCode, error) {
	d, err := scanDevice(s.reader.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE id = $1`, id))
	return d, s.wrap(err, "get device code")
}

// GetDeviceCodeByUserCode loads a device authorization by the hash of its user code.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (storage.DeviceCode, error) {
	d, err := scanDevice(s.reader.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE user_code_hash = $1`, userCodeHash))
	return d, s.wrap(err, "get device code by user code")
}

// DecideDeviceCode approves or denies a pending, unexpired device code.
func (s *Store) DecideDeviceCode(ctx context.Context, id string, d storage.DeviceDecision) error {
	status := storage.DeviceDenied
	if d.Approve {
		status = storage.DeviceApproved
	}
	var outcome error
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device_codes SET status = $2, account_id = $3, owner_type = $4, owner_id = $5,
			account_epoch = $8, auth_time = $9
			WHERE id = $1 AND status = $6 AND expires_at > $7`,
			id, string(status), nullable(d.AccountID), string(d.Owner.Type), d.Owner.ID, string(storage.DevicePending), ms(d.Now),
			ms(d.AccountEpoch), ms(d.AuthTime))
		outcome, err = deviceOutcome(ctx, tx, id, ms(d.Now), res, err)
		return err
	})
	if err == nil {
		err = outcome
	}
	return s.wrap(err, "decide device code")
}

// PollDeviceCode records a poll: after the row is locked, one conditional
// update grows the interval of a poll that came too soon, the other only
// notes the time; the row lock (PostgreSQL) or the single writer (SQLite)
// orders concurrent polls, so of two at once the second is too soon.
func (s *Store) PollDeviceCode(ctx context.Context, id string, now time.Time, slowDown time.Duration) (storage.DevicePoll, error) {
	var p storage.DevicePoll
	var outcome error // an unknown id is the answer, not a failure of the shared transaction
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		outcome = nil
		// Lock the row first: on PostgreSQL a conditional update that matches
		// nothing takes no lock, so two polls could both read the old time.
		if _, err := tx.ExecContext(ctx, `UPDATE device_codes SET last_polled_at = last_polled_at WHERE id = $1`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE device_codes SET interval_ms = interval_ms + $3, last_polled_at = $2
			WHERE id = $1 AND last_polled_at + interval_ms > $2`, id, ms(now), slowDown.Milliseconds())
		n, err := rowsAffected(res, err)
		if err != nil {
			return err
		}
		p.TooSoon = n == 1
		if !p.TooSoon {
			if _, err := tx.ExecContext(ctx, `UPDATE device_codes SET last_polled_at = $2 WHERE id = $1`, id, ms(now)); err != nil {
				return err
			}
		}
		p.Code, err = scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			outcome, err = storage.ErrNotFound, nil
		}
		return err
	})
	if err == nil {
		err = outcome
	}
	return p, s.wrap(err, "poll device code")
}

// RedeemDeviceCode marks an approved device code used and stores its tokens, exactly once.
func (s *Store) RedeemDeviceCode(ctx context.Context, id string, now time.Time, tokens storage.TokenSet) error {
	var outcome error
	err := s.commit.doKeyed(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device_codes SET status = $2 WHERE id = $1 AND status = $3 AND expires_at > $4`,
			id, string(storage.DeviceUsed), string(storage.DeviceApproved), ms(now))
		if outcome, err = deviceOutcome(ctx, tx, id, ms(now), res, err); err != nil || outcome != nil {
			return err
		}
		tx.queueTokens(&tokens)
		return nil
	})
	if err == nil {
		err = outcome
	}
	return s.wrap(err, "redeem device code")
}

// deviceOutcome explains why a conditional device code update changed nothing.
func deviceOutcome(ctx context.Context, tx *wtx, id string, now int64, res sql.Result, err error) (outcome, _ error) {
	n, err := rowsAffected(res, err)
	if err != nil || n == 1 {
		return nil, err
	}
	var status string
	var expires int64
	err = tx.QueryRowContext(ctx, `SELECT status, expires_at FROM device_codes WHERE id = $1`, id).Scan(&status, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound, nil
	case err != nil:
		return nil, err
	case status == string(storage.DeviceUsed):
		return storage.ErrAlreadyUsed, nil
	case expires <= now:
		return storage.ErrExpired, nil
	default:
		return fmt.Errorf("device code is %s: %w", status, storage.ErrNotPending), nil
	}
}

func scanDevice(row scanner) (storage.DeviceCode, error) {
	var d storage.DeviceCode
	var scopes, status, ownerType string
	var account nullString
	var interval, created, expires, polled, epoch, authTime int64
	err := row.Scan(&d.ID, &d.UserCodeHash, &d.ClientID, &scopes, &status, &account, &ownerType, &d.Owner.ID, &interval, &created, &expires,
		&polled, &epoch, &authTime)
	d.Scopes, d.Status, d.AccountID, d.Owner.Type = fromWords(scopes), storage.DeviceStatus(status), account.String, storage.OwnerType(ownerType)
	d.Interval, d.CreatedAt, d.ExpiresAt = time.Duration(interval)*time.Millisecond, fromMS(created), fromMS(expires)
	d.LastPolledAt, d.AccountEpoch, d.AuthTime = fromMS(polled), fromMS(epoch), fromMS(authTime)
	return d, err
}

// sweepBatch bounds one janitor delete, so token writes never wait long behind it.
const sweepBatch = 2000

// DeleteExpired removes rows that expired before the given time, in small
// transactions. Tokens that never expire (expires_at = 0) are kept. Expired
// rows are the oldest, so each batch's scan finds them near its start.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, t := range []struct{ table, column string }{{"auth_codes", "expires_at"}, {"access_tokens", "expires_at"},
		{"refresh_tokens", "expires_at"}, {"revoked_families", "expires_at"}, {"sessions", "expires_at"}, {"device_codes", "expires_at"},
		{"login_failures", "reset_at"}} {
		key := "id"
		if t.table == "login_failures" {
			key = "key"
		}
		query := `DELETE FROM ` + t.table + ` WHERE ` + key + ` IN (SELECT ` + key + ` FROM ` + t.table +
			` WHERE ` + t.column + ` > 0 AND ` + t.column + ` < $1 LIMIT ` + strconv.Itoa(sweepBatch) + `)`
		for {
			var n int64
			err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
				res, err := tx.ExecContext(ctx, query, ms(before))
				if err != nil {
					return fmt.Errorf("%s: %w", t.table, err)
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, s.wrap(err, "delete expired rows")
			}
			total += n
			if n < sweepBatch {
				break
			}
		}
	}
	return total, nil
}

// countFailure is the one statement that counts a failure: it adds one
// under the key unless the key makes failures wait ($2 is now), starting
// afresh when what was counted is forgotten. The row lock it takes
// (PostgreSQL) or the single writer (SQLite) orders concurrent counts, so
// of many at once only as many pass as the count and next_at allow.
const countFailure = `INSERT INTO login_failures (key, count, reset_at, next_at) VALUES ($1, 1, $3, 0)
	ON CONFLICT (key) DO UPDATE SET
		count = CASE WHEN login_failures.reset_at > $2 THEN login_failures.count + 1 ELSE 1 END,
		next_at = CASE WHEN login_failures.reset_at > $2 THEN login_failures.next_at ELSE 0 END,
		reset_at = $3
	WHERE login_failures.reset_at <= $2 OR login_failures.next_at <= $2
	RETURNING count`

// CountFailure counts a failure under each key, or under none (see storage.LoginThrottle).
func (s *Store) CountFailure(ctx context.Context, now time.Time, keys ...storage.ThrottleKey) (storage.Failures, error) {
	var out storage.Failures
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		out = storage.Failures{}
		for i, k := range keys {
			f, err := countOne(ctx, tx, k, now)
			if err != nil {
				return err
			}
			if i == 0 || !f.Counted {
				out = f
			}
			if f.Counted {
				continue
			}
			// Undo the keys counted before: none of them made failures
			// wait at now, and no other write came between (row locks, or
			// one writer), so this restores them exactly but for the
			// window, which counting extended.
			for _, prev := range keys[:i] {
				if _, err := tx.ExecContext(ctx, `UPDATE login_failures SET count = count - 1, next_at = 0 WHERE key = $1`,
					prev.Key); err != nil {
					return err
				}
			}
			return nil
		}
		return nil
	})
	return out, s.wrap(err, "count failure")
}

// countOne counts a failure under k, or reads until when k makes failures wait.
func countOne(ctx context.Context, tx *wtx, k storage.ThrottleKey, now time.Time) (storage.Failures, error) {
	reset := now.Add(k.Rule.Window)
	var count int64
	err := tx.QueryRowContext(ctx, countFailure, k.Key, ms(now), ms(reset)).Scan(&count)
	if errors.Is(err, sql.ErrNoRows) {
		var next, resetAt int64
		err = tx.QueryRowContext(ctx, `SELECT count, next_at, reset_at FROM login_failures WHERE key = $1`, k.Key).
			Scan(&count, &next, &resetAt)
		return storage.Failures{Count: int(count), RetryAt: fromMS(next), ResetAt: fromMS(resetAt)}, err
	}
	if err != nil {
		return storage.Failures{}, err
	}
	f := storage.Failures{Counted: true, Count: int(count), ResetAt: reset}
	// Past the free failures the next one waits; the wait doubles with the
	// count, which SQL cannot portably say, so it is a second statement,
	// under the same lock, run only once a key is throttled.
	if wait := k.Rule.Wait(int(count)); wait > 0 {
		f.RetryAt = now.Add(wait)
		if _, err := tx.ExecContext(ctx, `UPDATE login_failures SET next_at = $2 WHERE key = $1`, k.Key, ms(f.RetryAt)); err != nil {
			return storage.Failures{}, err
		}
	}
	return f, nil
}

// Failures reads what is counted under each key, in one query.
func (s *Store) Failures(ctx context.Context, now time.Time, keys ...string) ([]storage.Failures, error) {
	out := make([]storage.Failures, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := []any{ms(now)}
	var in strings.Builder
	for i, k := range keys {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, k)
		in.WriteString("$" + strconv.Itoa(len(args)))
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT key, count, next_at, reset_at FROM login_failures
		WHERE reset_at > $1 AND key IN (`+in.String()+`)`, args...)
	if err != nil {
		return nil, s.wrap(err, "read failures")
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var count, next, reset int64
		if err := rows.Scan(&key, &count, &next, &reset); err != nil {
			return nil, s.wrap(err, "read failures")
		}
		for i, k := range keys {
			if k == key {
				out[i] = storage.Failures{Count: int(count), ResetAt: fromMS(reset)}
				if next > ms(now) {
					out[i].RetryAt = fromMS(next)
				}
			}
		}
	}
	return out, s.wrap(rows.Err(), "read failures")
}

// ForgetFailures forgets what is counted under the keys.
func (s *Store) ForgetFailures(ctx context.Context, keys ...string) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, k); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap(err, "forget failures")
}

// rowsAffected is how many rows the statement that returned res changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
