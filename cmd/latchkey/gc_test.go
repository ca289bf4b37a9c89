package main

import (
	"math"
	"runtime/debug"
	"slices"
	"testing"
	"time"
)

func TestTuneGC(t *testing.T) {
	// Restore the test binary's own settings afterwards.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	onCheck := tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(-1); got != serveGCPercent {
		t.Errorf("GC percent = %d, want %d", got, serveGCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != serveLowMemoryLimit {
		t.Errorf("memory limit = %d, want %d while no password is checked", got, serveLowMemoryLimit)
	}
	if onCheck == nil {
		t.Fatal("no password-check hook")
	}
	onCheck(true)
	if got, want := debug.SetMemoryLimit(-1), serveMemoryLimit(); got != want {
		t.Errorf("memory limit = %d, want %d while a password is checked", got, want)
	}
	// No onCheck(false): its timer would lower this test binary's limit later.
	if lim := serveMemoryLimit(); lim < 128<<20+2*19<<20 {
		t.Errorf("memory limit %d leaves no room for two Argon2 checks", lim)
	}

	// GOGC and GOMEMLIMIT in the environment win.
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	onCheck = tuneGC(func(k string) string { return map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"}[k] })
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GC percent with GOGC set = %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit with GOMEMLIMIT set = %d, want unchanged", got)
	}
	if onCheck != nil {
		t.Error("a password-check hook although GOMEMLIMIT is set")
	}
}

// TestMemoryLimits: the limit is low at first, high from the first check
// on, stays high between checks closer together than idleAfter, and falls
// back once the pool has been idle that long. The timers are fired by hand.
func TestMemoryLimits(t *testing.T) {
	const low, high = 1, 2
	var set []int64
	m := newMemoryLimits(low, high, time.Minute, func(v int64) int64 { set = append(set, v); return 0 })
	var timers []func()
	m.after = func(d time.Duration, f func()) {
		if d != time.Minute {
			t.Errorf("timer of %v, want idleAfter", d)
		}
		timers = append(timers, f)
	}
	want := func(what string, limits ...int64) {
		t.Helper()
		if !slices.Equal(set, limits) {
			t.Fatalf("%s: limits set %v, want %v", what, set, limits)
		}
	}
	want("at start", low)

	m.checking(true)
	m.checking(true)
	m.checking(false)
	want("two overlapping checks", low, high)
	if len(timers) != 0 {
		t.Fatalf("%d timers while a check still runs", len(timers))
	}

	m.checking(false) // idle: a timer
	m.checking(true)  // before it fires
	timers[0]()
	want("a timer firing while a check runs", low, high)
	m.checking(false) // idle again: a second timer
	timers[0]()       // the first, late: stale
	want("the first idle spell's timer in the second", low, high)
	timers[1]()
	want("idle for idleAfter", low, high, low)

	m.checking(true)
	want("a check after lowering", low, high, low, high)
}
