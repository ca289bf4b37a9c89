package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

const codeColumns = `id, client_id, account_id, owner_type, owner_id, scopes, redirect_uri, code_challenge,
	code_challenge_method, nonce, auth_time, created_at, expires_at, used_at, account_epoch`

// CreateAuthCode stores a new authorization code.
func (s *Store) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_codes (`+codeColumns+`) VALUES
			($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			c.ID, c.ClientID, nullable(c.AccountID), string(c.Owner.Type), c.Owner.ID, words(c.Scopes), c.RedirectURI,
			c.CodeChallenge, c.CodeChallengeMethod, c.Nonce, ms(c.AuthTime), ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.UsedAt),
			ms(c.AccountEpoch))
		return err
	})
	return s.wrap(err, "create authorization code")
}

// GetAuthCode loads an authorization code, used or not.
func (s *Store) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	c, err := scanCode(s.reader.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM auth_codes WHERE id = $1`, id))
	return c, s.wrap(err, "get authorization code")
}

// RedeemAuthCode marks the code used and stores its tokens, exactly once.
func (s *Store) RedeemAuthCode(ctx context.Context, id string, now time.Time, tokens storage.TokenSet) error {
	var outcome error
	won := func() { outcome = nil }
	upd := keyedUpdate{kind: redeemKind, id: id, now: ms(now), tokens: &tokens, won: won}
	err := s.commit.doUpdate(ctx, upd, func(ctx context.Context, tx *wtx) error {
		n, err := rowsAffected(tx.ExecContext(ctx,
			`UPDATE auth_codes SET used_at = $2 WHERE id = $1 AND used_at = 0 AND expires_at > $2`, id, ms(now)))
		if err != nil {
			return err
		}
		if n == 1 {
			won()
			tx.queueTokens(&tokens)
			return nil
		}
		c, err := scanCode(tx.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM auth_codes WHERE id = $1`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			outcome = storage.ErrNotFound
		case err != nil:
			return err
		case !c.UsedAt.IsZero():
			outcome = storage.ErrAlreadyUsed
		default:
			outcome = storage.ErrExpired
		}
		return nil
	})
	if err == nil {
		err = outcome
	}
	return s.wrap(err, "redeem authorization code")
}

// SpendAuthCode marks an unused code used, issuing nothing. The failed
// checks that call it compare fields a code never changes, so only its use
// can race, and the conditional update settles that: after this returns no
// redemption of the code succeeds.
func (s *Store) SpendAuthCode(ctx context.Context, id string, now time.Time) error {
	var outcome error
	err := s.commit.doKeyed(ctx, func(ctx context.Context, tx *wtx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, `UPDATE auth_codes SET used_at = $2 WHERE id = $1 AND used_at = 0`, id, ms(now)))
		if err != nil || n == 1 {
			outcome = nil
			return err
		}
		// An unknown code is an answer, not a reason to roll the batch back.
		outcome = mustExist(ctx, tx, "auth_codes", id)
		if errors.Is(outcome, storage.ErrNotFound) {
			return nil
		}
		return outcome
	})
	if err == nil {
		err = outcome
	}
	return s.wrap(err, "spend authorization code")
}

// scanCode scans codeColumns and then extra.
func scanCode(row scanner, extra ...any) (storage.AuthCode, error) {
	var c storage.AuthCode
	var account nullString
	var ownerType, scopes string
	var auth, created, expires, used, epoch int64
	dest := make([]any, 0, 15+len(extra))
	dest = append(dest, &c.ID, &c.ClientID, &account, &ownerType, &c.Owner.ID, &scopes, &c.RedirectURI, &c.CodeChallenge,
		&c.CodeChallengeMethod, &c.Nonce, &auth, &created, &expires, &used, &epoch)
	err := row.Scan(append(dest, extra...)...)
	c.AccountID, c.Owner.Type, c.Scopes = account.String, storage.OwnerType(ownerType), fromWords(scopes)
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMS(auth), fromMS(created), fromMS(expires), fromMS(used)
	c.AccountEpoch = fromMS(epoch)
	return c, err
}

const accessColumns = `id, family_id, client_id, account_id, owner_type, owner_id, scopes, issued_at, expires_at, revoked_at,
	account_epoch`

const refreshColumns = `id, family_id, client_id, account_id, owner_type, owner_id, scopes, access_token_id,
	issued_at, expires_at, rotated_at, successor_id, revoked_at, account_epoch`

// familyRevocation finds the revocation of the current token row's family
// (see revokeFamily); revoked_families has no family_id column, so the name
// is the token's.
const familyRevocation = `(SELECT f.revoked_at FROM revoked_families f WHERE f.id = family_id)`

// familyRevokedAt is the extra column every token read selects: when the
// token's family was revoked, 0 if it was not. Tokens of no family skip the
// lookup.
// Computed columns are named: SQLite's driver asks each query for its
// column names, and an unnamed one's is its whole expression, copied out
// per query (named, introspection on SQLite: 1.05× throughput, 0.985× CPU
// per request, paired runs).
const familyRevokedAt = `, CASE WHEN family_id = '' THEN 0 ELSE COALESCE(` + familyRevocation + `, 0) END AS family_revoked_at`

// accountRevocation finds the revocation of everything of the current
// token row's account since the token was issued (see revokeAccount).
const accountRevocation = `(SELECT a.tokens_revoked_at FROM accounts a
	WHERE a.id = account_id AND a.tokens_revoked_at <> account_epoch)`

// accountRevokedAt is the column every token read selects after that: when
// the token was revoked with its account, 0 if it was not. Tokens of no
// account, those of client_credentials, skip the lookup.
const accountRevokedAt = `, CASE WHEN account_id IS NULL THEN 0 ELSE COALESCE(` + accountRevocation + `, 0) END AS account_revoked_at`

const selectRefresh = `SELECT ` + refreshColumns + familyRevokedAt + accountRevokedAt + ` FROM refresh_tokens WHERE id = $1`

// CreateTokens stores newly issued tokens. The committer gathers the token
// sets of a whole batch into a few multi-row INSERTs.
func (s *Store) CreateTokens(ctx context.Context, tokens storage.TokenSet) error {
	return s.wrap(s.commit.doTokens(ctx, &tokens), "store tokens")
}

// maxRowsPerInsert bounds one multi-row INSERT (14 columns: 896 parameters,
// well under either database's limit).
const maxRowsPerInsert = 64

// Multi-row INSERTs come in power-of-two sizes up to maxRowsPerInsert, so
// only a handful of statements are ever prepared; index k holds 1<<k rows.
var (
	accessInserts  = multiInserts("access_tokens", accessColumns, 11)
	refreshInserts = multiInserts("refresh_tokens", refreshColumns, 14)
)

func multiInserts(table, columns string, width int) []string {
	var out []string
	for rows := 1; rows <= maxRowsPerInsert; rows *= 2 {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range width {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(r*width+c+1))
			}
			b.WriteByte(')')
		}
		out = append(out, b.String())
	}
	return out
}

// tokenRows are the rows of many token sets, table by table.
type tokenRows struct {
	access  []*storage.AccessToken
	refresh []*storage.RefreshToken
	events  []*storage.AuditEvent
	// conds, for combinedStatement, are each table's rows' conditions:
	// the hit a row is stored on, or "" for a row stored in any case.
	conds [3][]string
}

// rowsOf are the rows of sets; conds, if not nil, holds each set's
// condition (tokenRows.conds).
func rowsOf(sets []*storage.TokenSet, conds []string) tokenRows {
	var r tokenRows
	add := func(table, set int) {
		if conds != nil {
			r.conds[table] = append(r.conds[table], conds[set])
		}
	}
	for i, t := range sets {
		if t.Access != nil {
			r.access = append(r.access, t.Access)
			add(0, i)
		}
		if t.Refresh != nil {
			r.refresh = append(r.refresh, t.Refresh)
			add(1, i)
		}
		if t.Event != nil {
			r.events = append(r.events, t.Event)
			add(2, i)
		}
	}
	return r
}

// tableRows is one table's part of tokenRows for insertRows.
type tableRows struct {
	inserts []string // multiInserts of the table
	width   int
	n       int
	row     func(args []any, i int) []any
	cond    []string // tokenRows.conds of the table
}

func (r tokenRows) tables() [3]tableRows {
	return [3]tableRows{
		{accessInserts, 11, len(r.access), func(args []any, i int) []any {
			a := r.access[i]
			return append(args, a.ID, a.FamilyID, a.ClientID, nullable(a.AccountID), string(a.Owner.Type), a.Owner.ID,
				words(a.Scopes), ms(a.IssuedAt), ms(a.ExpiresAt), ms(a.RevokedAt), ms(a.AccountEpoch))
		}, r.conds[0]},
		{refreshInserts, 14, len(r.refresh), func(args []any, i int) []any {
			t := r.refresh[i]
			return append(args, t.ID, t.FamilyID, t.ClientID, nullable(t.AccountID), string(t.Owner.Type), t.Owner.ID,
				words(t.Scopes), t.AccessTokenID, ms(t.IssuedAt), ms(t.ExpiresAt), ms(t.RotatedAt), t.SuccessorID, ms(t.RevokedAt),
				ms(t.AccountEpoch))
		}, r.conds[1]},
		{auditInserts, auditWidth, len(r.events), func(args []any, i int) []any {
			return appendAuditArgs(args, *r.events[i])
		}, r.conds[2]},
	}
}

// insertTokenSets stores the tokens of many sets. On SQLite that is a few
// multi-row INSERTs per table (13 sets: 8 + 4 + 1 rows); on PostgreSQL one
// statement for every table (tokenStatement).
func insertTokenSets(ctx context.Context, tx *wtx, sets []*storage.TokenSet) error {
	rows := rowsOf(sets, nil)
	if tx.arrays {
		q, args, err := tokenStatement(rows)
		if err != nil || q == "" {
			return err
		}
		_, err = tx.ExecContext(ctx, q, args...)
		return err
	}
	for _, t := range rows.tables() {
		if err := insertRows(ctx, tx, t.inserts, t.width, t.n, t.row); err != nil {
			return err
		}
	}
	return nil
}

// tokenStatement is, on PostgreSQL, one statement storing all of rows:
// each table's INSERT over arrays (arrayInsert), the first ones as WITH
// clauses of the last. Separately they were a round trip each; a
// statement with data-modifying WITH clauses runs them all, atomically,
// with the foreign keys checked at its end. Its text depends only on which
// tables have rows, so at most seven statements are ever prepared; it is
// empty when none has.
func tokenStatement(rows tokenRows) (string, []any, error) {
	inserts, args, err := tokenInserts(rows, 0)
	if err != nil || len(inserts) == 0 {
		return "", nil, err
	}
	last := len(inserts) - 1
	ctes := make([]string, last)
	for i, q := range inserts[:last] {
		ctes[i] = "w" + strconv.Itoa(i) + " AS (" + q + ")"
	}
	return withClauses(ctes, inserts[last]), args, nil
}

// tokenInserts are the INSERTs over arrays of the tables rows has rows
// for, with their parameters numbered from after+1.
func tokenInserts(rows tokenRows, after int) ([]string, []any, error) {
	var inserts []string
	var args []any
	for _, t := range rows.tables() {
		if t.n == 0 {
			continue
		}
		q, a, err := arrayInsert(t.inserts[0], t.width, t.n, t.row, after+len(args), t.cond)
		if err != nil {
			return nil, nil, err
		}
		inserts, args = append(inserts, q), append(args, a...)
	}
	return inserts, args, nil
}

// withClauses is the statement final with ctes ("name AS (…)") as its
// WITH clauses.
func withClauses(ctes []string, final string) string {
	if len(ctes) == 0 {
		return final
	}
	return "WITH " + strings.Join(ctes, ", ") + " " + final
}

// insertRows inserts n rows, appending row i's values with row, using the
// largest statement of inserts that fits what is left. On PostgreSQL
// (wtx.arrays) it inserts them all with one statement over arrays instead.
func insertRows(ctx context.Context, tx *wtx, inserts []string, width, n int, row func(args []any, i int) []any) error {
	if n == 0 {
		return nil
	}
	if tx.arrays {
		q, args, err := arrayInsert(inserts[0], width, n, row, 0, nil)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, q, args...)
		return err
	}
	args := make([]any, 0, min(n, maxRowsPerInsert)*width)
	for done := 0; done < n; {
		k := len(inserts) - 1
		for 1<<k > n-done {
			k--
		}
		args = args[:0]
		for i := done; i < done+1<<k; i++ {
			args = row(args, i)
		}
		if _, err := tx.ExecContext(ctx, inserts[k], args...); err != nil {
			return err
		}
		done += 1 << k
	}
	return nil
}

// arrayInsert is an INSERT of n rows whatever n is, and its parameters,
// numbered from after+1: each column's values go as one array parameter,
// and unnest turns them back into rows. A batch of 13 token sets took 3
// INSERTs per table as power-of-two VALUES lists, each a round trip; this
// takes one. single is the one-row INSERT of inserts, whose table and
// columns it reuses. Every column is TEXT (a string, or nil for NULL) or
// BIGINT (an int64). With cond (one per row), a row is inserted only when
// its condition is "" or one of the ids of the statement's hitsCTE
// (combinedStatement).
func arrayInsert(single string, width, n int, row func(args []any, i int) []any, after int, cond []string) (string, []any, error) {
	head, _, _ := strings.Cut(single, " VALUES ")
	rows := make([]any, 0, n*width)
	for i := range n {
		rows = row(rows, i)
	}
	cols := make([]any, width, width+1)
	var b strings.Builder
	if cond == nil {
		b.WriteString(head + " SELECT * FROM unnest(")
	} else {
		b.WriteString(head + " SELECT " + columnNames(width, "") + " FROM unnest(")
	}
	for c := range width {
		if c > 0 {
			b.WriteString(", ")
		}
		if _, isInt := rows[c].(int64); isInt {
			vals := make([]int64, n)
			for i := range n {
				v, ok := rows[i*width+c].(int64)
				if !ok {
					return "", nil, fmt.Errorf("insert rows: column %d holds %T and int64", c+1, rows[i*width+c])
				}
				vals[i] = v
			}
			cols[c] = vals
			b.WriteString("$" + strconv.Itoa(after+c+1) + "::bigint[]")
			continue
		}
		col, err := textColumn(rows, width, c, n)
		if err != nil {
			return "", nil, err
		}
		cols[c] = col
		b.WriteString("$" + strconv.Itoa(after+c+1) + "::text[]")
	}
	if cond == nil {
		b.WriteString(")")
		return b.String(), cols, nil
	}
	if len(cond) != n {
		return "", nil, fmt.Errorf("insert rows: %d conditions for %d rows", len(cond), n)
	}
	b.WriteString(", $" + strconv.Itoa(after+width+1) + "::text[]) AS x(" + columnNames(width, "cond") +
		") WHERE x.cond = '' OR x.cond IN (SELECT id FROM " + hitsCTE + ")")
	return b.String(), append(cols, cond), nil
}

// columnNames is "c1, c2, …, c<width>", then last if not "".
func columnNames(width int, last string) string {
	var b strings.Builder
	for c := range width {
		if c > 0 {
			b.WriteString(", ")
		}
		b.WriteString("c" + strconv.Itoa(c+1))
	}
	if last != "" {
		b.WriteString(", " + last)
	}
	return b.String()
}

// textColumn is column c of rows as a text array: a []string, which pgx
// encodes directly, unless the column holds NULLs. A column of nothing but
// NULLs (the account of client_credentials tokens) is an empty array, which
// unnest pads with NULLs to the others' length. Only a column that mixes
// both is a []*string, which pgx encodes by reflection, element by element.
// That path was 5 % of the CPU samples of a client_credentials load;
// without it, paired runs measured within noise (1.015x the throughput).
func textColumn(rows []any, width, c, n int) (any, error) {
	nulls := 0
	for i := range n {
		switch v := rows[i*width+c].(type) {
		case string:
		case nil:
			nulls++
		default:
			return nil, fmt.Errorf("insert rows: column %d holds %T, neither text nor int64", c+1, v)
		}
	}
	switch nulls {
	case n:
		return []string{}, nil
	case 0:
		vals := make([]string, n)
		for i := range n {
			vals[i] = rows[i*width+c].(string)
		}
		return vals, nil
	}
	vals := make([]*string, n)
	for i := range n {
		if v, ok := rows[i*width+c].(string); ok {
			vals[i] = &v
		}
	}
	return vals, nil
}

// GetAccessToken loads an access token, live or not.
func (s *Store) GetAccessToken(ctx context.Context, id string) (storage.AccessToken, error) {
	t, err := s.coalesced.access.get(ctx, id)
	return t, s.wrap(err, "get access token")
}

// GetRefreshToken loads a refresh token, live or not.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, error) {
	t, err := scanRefresh(s.reader.QueryRowContext(ctx, selectRefresh, id))
	return t, s.wrap(err, "get refresh token")
}

// RotateRefreshToken applies the rules of storage.Rotation in one transaction.
func (s *Store) RotateRefreshToken(ctx context.Context, r storage.Rotation) (storage.RotationResult, error) {
	var res storage.RotationResult
	var outcome error
	now := ms(r.Now)
	tokens := &storage.TokenSet{Access: &r.Access, Refresh: &r.Refresh, Event: r.Event}
	won := func() {
		old := storage.RefreshToken{ID: r.OldID, RotatedAt: fromMS(now), SuccessorID: r.Refresh.ID}
		res, outcome = storage.RotationResult{Outcome: storage.OutcomeRotated, Old: old, Successor: r.Refresh}, nil
	}
	upd := keyedUpdate{kind: rotateKind, id: r.OldID, now: now, to: r.Refresh.ID, tokens: tokens, won: won}
	err := s.commit.doUpdate(ctx, upd, func(ctx context.Context, tx *wtx) error {
		res, outcome = storage.RotationResult{}, nil
		// The conditional update is the lock: of concurrent rotations of
		// one token exactly one sees rotated_at = 0 and changes the row.
		// Rows affected, not RETURNING: scanning the row back cost the
		// single writer more than the update itself.
		n, err := rowsAffected(tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = $2, successor_id = $3
			WHERE id = $1 AND rotated_at = 0 AND revoked_at = 0 AND (expires_at = 0 OR expires_at > $2)
			AND NOT EXISTS `+familyRevocation+` AND NOT EXISTS `+accountRevocation,
			r.OldID, now, r.Refresh.ID))
		if err != nil {
			return err
		}
		if n == 1 {
			won()
			tx.queueTokens(tokens)
			return nil
		}
		// Not rotated here: a replay or a retry. What follows reads the
		// successor and may revoke the family, so the batch's tokens go in first.
		if err := tx.flush(ctx); err != nil {
			return err
		}
		old, err := scanRefresh(tx.QueryRowContext(ctx, selectRefresh, r.OldID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			outcome = storage.ErrNotFound
			return nil
		case err != nil:
			return err
		case !old.RevokedAt.IsZero():
			outcome = storage.ErrRevoked
			return nil
		case old.RotatedAt.IsZero():
			outcome = storage.ErrExpired
			return nil
		}
		succ, err := scanRefresh(tx.QueryRowContext(ctx, selectRefresh, old.SuccessorID))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && r.Grace > 0 && !r.Now.After(old.RotatedAt.Add(r.Grace)) && succ.RotatedAt.IsZero() && succ.RevokedAt.IsZero() {
			res = storage.RotationResult{Outcome: storage.OutcomeGrace, Old: old, Successor: succ}
			return nil
		}
		outcome = storage.ErrTokenReused
		return revokeFamily(ctx, tx, old.FamilyID, now, ms(r.FamilyExpiresAt))
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return storage.RotationResult{}, s.wrap(err, "rotate refresh token")
	}
	return res, nil
}

// RevokeAccessToken revokes one access token.
func (s *Store) RevokeAccessToken(ctx context.Context, id string, now time.Time) error {
	return s.wrap(s.revokeOne(ctx, "access_tokens", id, now), "revoke access token")
}

// RevokeRefreshToken revokes one refresh token.
func (s *Store) RevokeRefreshToken(ctx context.Context, id string, now time.Time) error {
	return s.wrap(s.revokeOne(ctx, "refresh_tokens", id, now), "revoke refresh token")
}

func (s *Store) revokeOne(ctx context.Context, table, id string, now time.Time) error {
	return s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0`, id, ms(now)); err != nil {
			return err
		}
		return mustExist(ctx, tx, table, id)
	})
}

// RevokeFamily revokes every live token of a family.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, now, expiresAt time.Time) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		return revokeFamily(ctx, tx, familyID, ms(now), ms(expiresAt))
	})
	return s.wrap(err, "revoke token family")
}

// revokeFamily records the family as revoked; every token read joins the
// record, so one row revokes the whole family whatever its size. A rotation
// committing in parallel (PostgreSQL) either sees the record and does not
// rotate, or stores a successor that reads as revoked: no token of a revoked
// family is ever live. The first revocation's time stands.
func revokeFamily(ctx context.Context, tx *wtx, familyID string, now, expiresAt int64) error {
	if familyID == "" {
		return nil // tokens of no family (no refresh token, no code) are revoked one by one
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO revoked_families (id, revoked_at, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO NOTHING`, familyID, now, expiresAt)
	return err
}

func scanAccess(row scanner) (storage.AccessToken, error) {
	// One value holds every destination: declared one by one, each escaped
	// to the heap through Scan's ...any (BenchmarkIntrospect: 184
	// allocations a request then, 178 now).
	var r struct {
		t                                                              storage.AccessToken
		account                                                        nullString
		ownerType, scopes                                              string
		issued, expires, revoked, epoch, familyRevoked, accountRevoked int64
	}
	t := &r.t
	err := row.Scan(&t.ID, &t.FamilyID, &t.ClientID, &r.account, &r.ownerType, &t.Owner.ID, &r.scopes, &r.issued, &r.expires,
		&r.revoked, &r.epoch, &r.familyRevoked, &r.accountRevoked)
	t.AccountID, t.Owner.Type, t.Scopes = r.account.String, storage.OwnerType(r.ownerType), fromWords(r.scopes)
	t.IssuedAt, t.ExpiresAt, t.AccountEpoch = fromMS(r.issued), fromMS(r.expires), fromMS(r.epoch)
	t.RevokedAt = fromMS(revokedAt(r.revoked, r.familyRevoked, r.accountRevoked))
	return *t, err
}

func scanRefresh(row scanner) (storage.RefreshToken, error) {
	var familyRevoked, accountRevoked int64
	t, own, err := scanRefreshRow(row, &familyRevoked, &accountRevoked)
	t.RevokedAt = fromMS(revokedAt(own, familyRevoked, accountRevoked))
	return t, err
}

// scanRefreshRow scans refreshColumns and then extra; own is the token's
// own revoked_at, for revokedAt.
func scanRefreshRow(row scanner, extra ...any) (t storage.RefreshToken, own int64, err error) {
	var account nullString
	var ownerType, scopes string
	var issued, expires, rotated, epoch int64
	dest := make([]any, 0, 14+len(extra))
	dest = append(dest, &t.ID, &t.FamilyID, &t.ClientID, &account, &ownerType, &t.Owner.ID, &scopes, &t.AccessTokenID,
		&issued, &expires, &rotated, &t.SuccessorID, &own, &epoch)
	err = row.Scan(append(dest, extra...)...)
	t.AccountID, t.Owner.Type, t.Scopes = account.String, storage.OwnerType(ownerType), fromWords(scopes)
	t.IssuedAt, t.ExpiresAt, t.RotatedAt, t.AccountEpoch = fromMS(issued), fromMS(expires), fromMS(rotated), fromMS(epoch)
	return t, own, err
}

// revokedAt is when a token was revoked: by itself, or else with its
// family, or else with its account.
func revokedAt(own, family, account int64) int64 {
	switch {
	case own != 0:
		return own
	case family != 0:
		return family
	}
	return account
}
