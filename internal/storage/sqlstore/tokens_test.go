package sqlstore

import (
	"strconv"
	"strings"
	"testing"
)

func TestMultiInserts(t *testing.T) {
	for k, q := range accessInserts {
		rows := 1 << k
		if got := strings.Count(q, "("); got != rows+1 { // the column list, then one per row
			t.Errorf("statement %d has %d parenthesised groups, want %d", k, got, rows+1)
		}
		if last := "$" + strconv.Itoa(rows*11) + ")"; !strings.HasSuffix(q, last) {
			t.Errorf("statement %d does not end with %s: …%s", k, last, q[len(q)-20:])
		}
	}
	if rows := 1 << (len(refreshInserts) - 1); rows != maxRowsPerInsert {
		t.Errorf("largest refresh insert has %d rows, want %d", rows, maxRowsPerInsert)
	}
}

// TestTextColumn: a text column goes to pgx as []string when it has no
// NULL, as an empty array (padded with NULLs by unnest) when it is all
// NULL, and as []*string, NULLs kept in place, only when it mixes both.
func TestTextColumn(t *testing.T) {
	const width = 2
	rows := func(col ...any) []any {
		var r []any
		for _, v := range col {
			r = append(r, int64(0), v)
		}
		return r
	}
	if got, err := textColumn(rows("a", "b"), width, 1, 2); err != nil || !equalStrings(got, []string{"a", "b"}) {
		t.Errorf("no NULL: %#v, %v", got, err)
	}
	if got, err := textColumn(rows(nil, nil), width, 1, 2); err != nil || !equalStrings(got, []string{}) {
		t.Errorf("all NULL: %#v, %v", got, err)
	}
	got, err := textColumn(rows("a", nil, "c"), width, 1, 3)
	mixed, ok := got.([]*string)
	if err != nil || !ok || len(mixed) != 3 || mixed[0] == nil || *mixed[0] != "a" || mixed[1] != nil || mixed[2] == nil || *mixed[2] != "c" {
		t.Errorf("mixed: %#v, %v", got, err)
	}
	if _, err := textColumn(rows("a", 1.5), width, 1, 2); err == nil || !strings.Contains(err.Error(), "column 2 holds float64") {
		t.Errorf("a float in a text column: %v, want an error naming the column and the type", err)
	}
}

func equalStrings(got any, want []string) bool {
	s, ok := got.([]string)
	if !ok || len(s) != len(want) {
		return false
	}
	for i := range s {
		if s[i] != want[i] {
			return false
		}
	}
	return true
}
