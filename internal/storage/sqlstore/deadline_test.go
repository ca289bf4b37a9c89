package sqlstore

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

type ctxKey struct{}

// TestBound: a bounded call keeps the caller's values, ends with its window,
// keeps an earlier deadline of the caller's own, and what database/sql and
// pgx derive from it joins the window instead of starting a goroutine each.
func TestBound(t *testing.T) {
	d := deadlines{timeout: CallTimeout}
	defer d.close()
	caller, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	ctx := d.bound(caller)
	if ctx.Value(ctxKey{}) != "v" {
		t.Fatal("the caller's value is lost")
	}
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > CallTimeout || time.Until(dl) < CallTimeout-deadlineTick-time.Second/10 {
		t.Fatalf("deadline %v from now, want about %v", time.Until(dl), CallTimeout)
	}
	long := deadlines{timeout: 5 * time.Second} // Options.CallTimeout
	defer long.close()
	if dl, _ := long.bound(caller).Deadline(); time.Until(dl) < 4*time.Second {
		t.Fatalf("deadline %v from now, want about 5s", time.Until(dl))
	}
	cancel()
	if ctx.Err() != nil {
		t.Fatal("a bounded call follows the caller's cancellation")
	}

	before := runtime.NumGoroutine()
	children := make([]context.CancelFunc, 0, 1000)
	for range 1000 {
		_, stop := context.WithCancel(d.bound(context.Background()))
		children = append(children, stop)
		stop2 := context.AfterFunc(d.bound(context.Background()), func() {})
		defer stop2()
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Errorf("1000 contexts derived from bounded ones started %d goroutines", n)
	}
	for _, stop := range children {
		stop()
	}

	short, cancelShort := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancelShort()
	if d.bound(short) != short {
		t.Fatal("a caller's earlier deadline was replaced")
	}

	w := d.current()
	<-w.ctx.Done()
	if !errors.Is(w.ctx.Err(), context.DeadlineExceeded) || !errors.Is((&bounded{values: caller, w: w.ctx}).Err(), context.DeadlineExceeded) {
		t.Fatal("a window did not end with DeadlineExceeded")
	}
}
