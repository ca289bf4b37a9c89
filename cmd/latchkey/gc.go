package main

import (
	"runtime"
	"runtime/debug"

	"github.com/latchkey-dev/latchkey/internal/secrets"
)

// Garbage-collector settings for serve. Go's default, GOGC=100, collects
// each time the heap doubles; latchkey's live heap is a few megabytes, so
// under load it collected many times a second, for about a tenth of the
// server's CPU (docs/PERFORMANCE.md). serve lets the heap grow to five times
// the live heap before collecting, under a soft limit that keeps bursts of
// password checks bounded. GOGC and GOMEMLIMIT in the environment take
// precedence, as for any Go program.
const serveGCPercent = 400

// serveMemoryLimit is the soft heap limit: 128 MiB for the ordinary heap at
// five times its live size, plus twice the Argon2 memory of a full password
// pool (one check per processor), so the collector only works harder when
// password checks pile up.
func serveMemoryLimit() int64 {
	argon2 := int64(secrets.DefaultArgon2.Memory) << 10 // KiB
	return 128<<20 + 2*int64(runtime.GOMAXPROCS(0))*argon2
}

// tuneGC applies serve's collector settings where the environment sets none.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit())
	}
}
