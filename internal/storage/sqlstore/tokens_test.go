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
