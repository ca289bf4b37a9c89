package importer

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Printer shows an import's progress. On a terminal it keeps one line up
// to date (rows, rate, and an ETA from the bytes read of Total); elsewhere,
// a log or a pipe, it writes a plain line every 5 s or 100,000 rows.
type Printer struct {
	W        io.Writer
	Terminal bool
	Total    int64 // size of the input in bytes; 0 when unknown (stdin)
	// Now is time.Now unless a test says otherwise.
	Now func() time.Time

	last     time.Time
	lastRows int
	drawn    bool
}

// Every how long, or how many rows, a plain progress line is written, and
// how often the terminal line is redrawn.
const (
	plainEvery     = 5 * time.Second
	plainEveryRows = 100_000
	redrawEvery    = 200 * time.Millisecond
)

// Update is an OnProgress for Config.
func (p *Printer) Update(pr Progress) {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	if p.last.IsZero() {
		p.last = now
	}
	if p.Terminal {
		if now.Sub(p.last) < redrawEvery && p.drawn {
			return
		}
		fmt.Fprintf(p.W, "\r\x1b[K%s", p.line(pr))
		p.drawn, p.last = true, now
		return
	}
	if now.Sub(p.last) >= plainEvery || pr.Read-p.lastRows >= plainEveryRows {
		fmt.Fprintln(p.W, p.line(pr))
		p.last, p.lastRows = now, pr.Read
	}
}

// Done ends the terminal line, so what follows starts on its own.
func (p *Printer) Done() {
	if p.Terminal && p.drawn {
		fmt.Fprint(p.W, "\r\x1b[K")
	}
}

func (p *Printer) line(pr Progress) string {
	s := fmt.Sprintf("%d rows read, %.0f rows/s", pr.Read, rate(pr.Read, pr.Elapsed))
	if p.Total > 0 && pr.Bytes > 0 {
		done := min(float64(pr.Bytes)/float64(p.Total), 1)
		eta := time.Duration(float64(pr.Elapsed) * (1 - done) / done).Round(time.Second)
		s += fmt.Sprintf(", %.0f%%, ETA %s", 100*done, eta)
	}
	if pr.Failed > 0 {
		s += fmt.Sprintf(", %d failed", pr.Failed)
	}
	return s
}

func rate(rows int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(rows) / d.Seconds()
}

// String is the summary line of a finished import.
func (s Summary) String() string {
	return fmt.Sprintf("read %d, created %d, updated %d, skipped %d, failed %d in %s (%.0f rows/s)",
		s.Read, s.Created, s.Updated, s.Skipped, s.Failed, s.Elapsed.Round(time.Millisecond), rate(s.Read, s.Elapsed))
}

// Report writes the refused rows to a CSV file (line, field, reason),
// created at the first one, so a clean import leaves no file behind.
type Report struct {
	Path string
	f    *os.File
	w    *csv.Writer
}

// Add is an OnError for Config.
func (r *Report) Add(e RowError) error {
	if r.w == nil {
		f, err := os.OpenFile(r.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("create error report: %w", err)
		}
		r.f, r.w = f, csv.NewWriter(f)
		r.w.Write([]string{"line", "field", "reason"})
	}
	return r.w.Write([]string{strconv.Itoa(e.Line), e.Field, e.Reason})
}

// Close flushes and closes the report, if there is one.
func (r *Report) Close() error {
	if r.f == nil {
		return nil
	}
	r.w.Flush()
	err := r.w.Error()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}
