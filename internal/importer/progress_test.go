package importer

import (
	"strings"
	"testing"
	"time"
)

// TestPrinter checks the two ways progress shows: plain lines every 5 s or
// 100,000 rows when not on a terminal, and one redrawn line with rate and
// ETA on a terminal.
func TestPrinter(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out strings.Builder
	p := &Printer{W: &out, Total: 1000, Now: func() time.Time { return clock }}
	p.Update(Progress{Summary: Summary{Read: 10, Elapsed: time.Second}, Bytes: 100})
	if out.Len() != 0 {
		t.Fatalf("a line before 5 s or 100,000 rows: %q", out.String())
	}
	p.Update(Progress{Summary: Summary{Read: 100_010, Elapsed: 2 * time.Second}, Bytes: 250})
	clock = clock.Add(3 * time.Second)
	p.Update(Progress{Summary: Summary{Read: 100_020, Elapsed: 3 * time.Second}, Bytes: 260})
	clock = clock.Add(5 * time.Second)
	p.Update(Progress{Summary: Summary{Read: 100_030, Elapsed: 8 * time.Second, Failed: 2}, Bytes: 500})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"100010 rows read, 50005 rows/s, 25%, ETA 6s", "100030 rows read, 12504 rows/s, 50%, ETA 8s, 2 failed"}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Fatalf("plain lines %q, want %q", lines, want)
	}

	out.Reset()
	p = &Printer{W: &out, Terminal: true, Now: func() time.Time { return clock }}
	p.Update(Progress{Summary: Summary{Read: 5, Elapsed: time.Second}, Bytes: 1})
	p.Update(Progress{Summary: Summary{Read: 6, Elapsed: time.Second}, Bytes: 1}) // within 200 ms: not redrawn
	p.Done()
	if got := out.String(); got != "\r\x1b[K5 rows read, 5 rows/s\r\x1b[K" {
		t.Fatalf("terminal output %q", got)
	}
}
