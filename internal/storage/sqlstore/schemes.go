package sqlstore

import (
	"context"
)

// passwordSchemeSQL classifies accounts.password_hash by its prefix as
// secrets.PasswordScheme does (the conformance suite checks they agree).
// The outer CASE takes one 4-character prefix per row and only the few
// ambiguous ones look further; substrings, not LIKE, keep the '_' of
// "pbkdf2_" literal. It reads every row, with no index: for 1,000,000
// accounts about 1–2 s of CPU on SQLite (BenchmarkCountPasswordSchemes1M)
// and 0.7 s on PostgreSQL, so the gauge runs it at most once a minute.
const passwordSchemeSQL = `SELECT CASE substr(password_hash, 1, 4)
	WHEN '' THEN 'none'
	WHEN '$2a$' THEN 'bcrypt' WHEN '$2b$' THEN 'bcrypt' WHEN '$2y$' THEN 'bcrypt'
	WHEN '$arg' THEN CASE
		WHEN substr(password_hash, 1, 10) = '$argon2id$' THEN 'argon2id'
		WHEN substr(password_hash, 1, 9) = '$argon2i$' THEN 'argon2i'
		ELSE 'other' END
	WHEN '$pbk' THEN CASE
		WHEN substr(password_hash, 1, 8) = '$pbkdf2$' THEN 'pbkdf2-sha1'
		WHEN substr(password_hash, 1, 15) = '$pbkdf2-sha256$' THEN 'pbkdf2-sha256'
		WHEN substr(password_hash, 1, 15) = '$pbkdf2-sha512$' THEN 'pbkdf2-sha512'
		ELSE 'other' END
	WHEN 'pbkd' THEN CASE
		WHEN substr(password_hash, 1, 12) = 'pbkdf2_sha1$' THEN 'pbkdf2-sha1'
		WHEN substr(password_hash, 1, 14) = 'pbkdf2_sha256$' THEN 'pbkdf2-sha256'
		ELSE 'other' END
	WHEN '$scr' THEN CASE WHEN substr(password_hash, 1, 8) = '$scrypt$' THEN 'scrypt' ELSE 'other' END
	WHEN '$sha' THEN CASE
		WHEN substr(password_hash, 1, 15) = '$sha256-salted$' THEN 'sha256-salted'
		WHEN substr(password_hash, 1, 15) = '$sha512-salted$' THEN 'sha512-salted'
		ELSE 'other' END
	ELSE 'other' END AS scheme, COUNT(*) FROM accounts GROUP BY scheme`

// CountPasswordSchemes counts accounts by the scheme of their password hash.
// It is a background count, not a request's read: it runs under ctx alone,
// without CallTimeout, which 1,000,000 accounts on PostgreSQL come close to.
func (s *Store) CountPasswordSchemes(ctx context.Context) (map[string]int64, error) {
	rows, err := s.reader.DB.QueryContext(ctx, passwordSchemeSQL) // no placeholders to rebind
	if err != nil {
		return nil, s.wrap(err, "count password schemes")
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var scheme string
		var n int64
		if err := rows.Scan(&scheme, &n); err != nil {
			return nil, s.wrap(err, "count password schemes")
		}
		counts[scheme] = n
	}
	return counts, s.wrap(rows.Err(), "count password schemes")
}
