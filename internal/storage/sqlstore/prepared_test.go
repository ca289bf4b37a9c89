package sqlstore

import "testing"

func TestAnonymousPlaceholders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)`, `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)`},
		{`SELECT a FROM t WHERE id = $1`, `SELECT a FROM t WHERE id = ?`},
		// Out of order or repeated: "?" would bind the wrong values.
		{`UPDATE t SET u = $2 WHERE id = $1`, `UPDATE t SET u = $2 WHERE id = $1`},
		{`UPDATE t SET u = $1 WHERE id = $2 AND x > $1`, `UPDATE t SET u = $1 WHERE id = $2 AND x > $1`},
		{`SELECT $1, $3`, `SELECT $1, $3`},
		// A dollar inside a string literal is text, not a placeholder.
		{`SELECT '$2' FROM t WHERE id = $1`, `SELECT '$2' FROM t WHERE id = ?`},
		{`SELECT 1`, `SELECT 1`},
		{`SELECT $x`, `SELECT $x`},
	} {
		if got := AnonymousPlaceholders(tc.in); got != tc.want {
			t.Errorf("AnonymousPlaceholders(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, q := range append(append([]string{}, accessInserts...), refreshInserts...) {
		if got := AnonymousPlaceholders(q); got == q {
			t.Errorf("multi-row INSERT kept its numbered placeholders: %.60s…", q)
		}
	}
}
