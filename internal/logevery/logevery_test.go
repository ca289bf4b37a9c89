package logevery

import (
	"sync"
	"testing"
	"time"
)

// TestLimiter: the first failure is logged, the next ones within the
// period are counted into the first line after it.
func TestLimiter(t *testing.T) {
	var l Limiter
	const every = 10 * time.Second
	t0 := time.Unix(1000, 0)
	if n, since, ok := l.Note(t0, every); !ok || n != 1 || !since.IsZero() {
		t.Fatalf("first failure: %d %v %v; want logged, 1, no since", n, since, ok)
	}
	for i := 1; i <= 3; i++ {
		if _, _, ok := l.Note(t0.Add(time.Duration(i)*time.Second), every); ok {
			t.Fatalf("failure %d within the period logged", i)
		}
	}
	if n, since, ok := l.Note(t0.Add(10*time.Second), every); !ok || n != 4 || !since.Equal(t0) {
		t.Fatalf("after the period: %d %v %v; want logged, 4 failures, since the first line", n, since, ok)
	}
}

// TestLimiterConcurrent: failures noted at once are each counted once.
func TestLimiterConcurrent(t *testing.T) {
	var l Limiter
	now := time.Unix(1000, 0)
	l.Note(now, time.Hour)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { l.Note(now, time.Hour) })
	}
	wg.Wait()
	if n, _, ok := l.Note(now.Add(time.Hour), time.Hour); !ok || n != 101 {
		t.Fatalf("after 100 concurrent failures: %d %v; want 101 logged", n, ok)
	}
}
