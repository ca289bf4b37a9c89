package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	// Restore the test binary's own settings afterwards.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(-1); got != serveGCPercent {
		t.Errorf("GC percent = %d, want %d", got, serveGCPercent)
	}
	if got, want := debug.SetMemoryLimit(-1), serveMemoryLimit(); got != want {
		t.Errorf("memory limit = %d, want %d", got, want)
	}
	if lim := serveMemoryLimit(); lim < 128<<20+2*19<<20 {
		t.Errorf("memory limit %d leaves no room for two Argon2 checks", lim)
	}

	// GOGC and GOMEMLIMIT in the environment win.
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	tuneGC(func(k string) string { return map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"}[k] })
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GC percent with GOGC set = %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit with GOMEMLIMIT set = %d, want unchanged", got)
	}
}
