package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// throttleRule counts 5 failures at once, then waits 1 s, 2 s, 4 s… up to a minute.
var throttleRule = storage.ThrottleRule{Free: 5, Delay: time.Second, MaxDelay: time.Minute, Window: time.Hour}

// racers is more than a group-commit batch of one writer usually holds, so
// concurrent counts land in several transactions (several connections on
// PostgreSQL, as on several nodes).
const racers = 4 * workers

// testThrottleCountAtomic: of many concurrent failures on one key, exactly
// the free ones are counted; with a second key that refuses, the first
// key's count is undone.
func testThrottleCountAtomic(t *testing.T, s storage.Storage) {
	c := ctx(t)
	k := storage.ThrottleKey{Key: "k", Rule: throttleRule}
	got := make([]storage.Failures, racers)
	for i, err := range together(racers, func(i int) (err error) {
		got[i], err = s.CountFailure(c, now, k)
		return err
	}) {
		must(t, err, fmt.Sprintf("count %d", i))
	}
	counted := 0
	for _, f := range got {
		switch {
		case f.Counted:
			counted++
		case !f.RetryAt.Equal(now.Add(time.Second)):
			t.Fatalf("a refused failure retries at %v, want %v", f.RetryAt, now.Add(time.Second))
		}
	}
	if counted != throttleRule.Free {
		t.Fatalf("%d of %d concurrent failures were counted, want exactly %d", counted, racers, throttleRule.Free)
	}
	fs, err := s.Failures(c, now, "k", "unknown")
	must(t, err, "read")
	equal(t, fs, []storage.Failures{{Count: 5, RetryAt: now.Add(time.Second), ResetAt: now.Add(time.Hour)}, {}}, "counted")

	// Each racer counts under its own key and a shared one: the racers the
	// shared key refuses keep nothing under their own.
	shared := storage.ThrottleKey{Key: "shared", Rule: storage.ThrottleRule{Free: 3, Delay: time.Second, MaxDelay: time.Minute, Window: time.Hour}}
	own := func(i int) storage.ThrottleKey {
		return storage.ThrottleKey{Key: fmt.Sprintf("own-%d", i), Rule: throttleRule}
	}
	for i, err := range together(racers, func(i int) (err error) {
		got[i], err = s.CountFailure(c, now, own(i), shared)
		return err
	}) {
		must(t, err, fmt.Sprintf("count pair %d", i))
	}
	counted = 0
	for i, f := range got {
		o, err := s.Failures(c, now, own(i).Key)
		must(t, err, "read own key")
		want := 0
		if f.Counted {
			counted, want = counted+1, 1
		}
		if o[0].Count != want {
			t.Fatalf("racer %d (counted %v): own key counts %d, want %d", i, f.Counted, o[0].Count, want)
		}
	}
	if counted != 3 {
		t.Fatalf("%d pairs were counted, want exactly the shared key's 3", counted)
	}
}

// testThrottleWaitsGrowAndReset: past the free failures each one waits
// twice as long as the one before, up to the cap; refused failures count
// nothing; the window ends what was counted, and forgetting ends it at once.
func testThrottleWaitsGrowAndReset(t *testing.T, s storage.Storage) {
	c := ctx(t)
	k := storage.ThrottleKey{Key: "grow", Rule: throttleRule}
	at := now
	for i := range throttleRule.Free {
		f, err := s.CountFailure(c, at, k)
		must(t, err, "free failure")
		if !f.Counted || f.Count != i+1 {
			t.Fatalf("free failure %d: %+v", i+1, f)
		}
	}
	var waits []time.Duration
	for range 8 {
		f, err := s.CountFailure(c, at, k)
		must(t, err, "early failure")
		if f.Counted {
			t.Fatalf("a failure before the wait ended was counted: %+v", f)
		}
		waits = append(waits, f.RetryAt.Sub(at))
		at = f.RetryAt
		if f, err = s.CountFailure(c, at, k); err != nil || !f.Counted {
			t.Fatalf("failure once the wait ended: %+v %v", f, err)
		}
	}
	equal(t, waits, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, time.Minute, time.Minute}, "waits")
	fs, err := s.Failures(c, at, "grow")
	must(t, err, "read")
	equal(t, fs[0].Count, throttleRule.Free+8, "refused failures count nothing")

	// An hour after the last failure everything is forgotten.
	later := at.Add(time.Hour)
	fs, err = s.Failures(c, later, "grow")
	must(t, err, "read after the window")
	equal(t, fs, []storage.Failures{{}}, "forgotten")
	f, err := s.CountFailure(c, later, k)
	must(t, err, "failure after the window")
	equal(t, f, storage.Failures{Counted: true, Count: 1, ResetAt: later.Add(time.Hour)}, "a fresh count")

	// Forgetting ends a running wait.
	for range throttleRule.Free {
		_, err := s.CountFailure(c, later, k)
		must(t, err, "failure")
	}
	fs, err = s.Failures(c, later, "grow")
	must(t, err, "read")
	equal(t, fs[0].RetryAt, later.Add(time.Second), "waiting")
	must(t, s.ForgetFailures(c, "grow", "unknown"), "forget")
	fs, err = s.Failures(c, later, "grow")
	must(t, err, "read forgotten")
	equal(t, fs, []storage.Failures{{}}, "forgotten")
	f, err = s.CountFailure(c, later, k)
	must(t, err, "failure after forgetting")
	equal(t, f.Counted, true, "counted at once")
}
