// Package logevery keeps a run of repeated failures from flooding the log:
// the first is logged at once, then at most one line per period, each
// saying how many failures it stands for.
package logevery

import (
	"sync"
	"time"
)

// Limiter decides when a failure is logged; the zero value is ready.
type Limiter struct {
	mu      sync.Mutex
	last    time.Time // of the last line; zero before the first
	pending int       // failures since that line, unlogged
}

// Note counts one failure at now. ok says to log a line now, the first
// failure or the first once every has passed since the last line; n is
// the failures the line stands for (this one included) and since when the
// line before it was (zero for the first). Failures that stop within a
// period are counted in the next line, whenever that comes.
func (l *Limiter) Note(now time.Time, every time.Duration) (n int, since time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending++
	if !l.last.IsZero() && now.Sub(l.last) < every {
		return 0, time.Time{}, false
	}
	n, since = l.pending, l.last
	l.pending, l.last = 0, now
	return n, since, true
}
