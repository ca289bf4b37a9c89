package main

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
)

// Garbage-collector settings for serve. Go's default, GOGC=100, collects
// each time the heap doubles; latchkey's live heap is a few megabytes, so
// under load it collected many times a second, for about a tenth of the
// server's CPU (docs/PERFORMANCE.md). serve lets the heap grow to five times
// the live heap before collecting, under a soft limit (memoryLimits) that is
// low while no password is being checked and leaves room for the Argon2
// memory of a full pool while checks run. GOGC and GOMEMLIMIT in the
// environment take precedence, as for any Go program.
const serveGCPercent = 400

// serveLowMemoryLimit is the soft limit while no password check runs. At
// c=64 token traffic the heap then stays near it and the process's RSS
// under 80 MB from its first burst (without it, 124–130 MB), at the same
// throughput (docs/PERFORMANCE.md, "Memory").
const serveLowMemoryLimit = 56 << 20

// serveIdleAfter is how long the limit stays raised after the last
// password check: logins come in bursts, and lowering the limit between two
// of them would return each check's memory to the OS only to fault it back
// in for the next (a fixed 62 MiB limit cut logins from 66/s to 46/s).
const serveIdleAfter = 2 * time.Second

// serveMemoryLimit is the soft limit while password checks run: 128 MiB for
// the ordinary heap at five times its live size, plus twice the Argon2
// memory of a full password pool (one check per processor), so the
// collector only works harder when password checks pile up.
func serveMemoryLimit() int64 {
	argon2 := int64(secrets.DefaultArgon2.Memory) << 10 // KiB
	return 128<<20 + 2*int64(runtime.GOMAXPROCS(0))*argon2
}

// tuneGC applies serve's collector settings where the environment sets
// none. It returns the hook for oauth.Config.OnPasswordCheck that moves the
// memory limit, or nil when GOMEMLIMIT is set.
func tuneGC(getenv func(string) string) func(running bool) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") != "" {
		return nil
	}
	m := newMemoryLimits(serveLowMemoryLimit, serveMemoryLimit(), serveIdleAfter, debug.SetMemoryLimit)
	return m.checking
}

// memoryLimits keeps the soft memory limit at low, except while password
// checks run and for idleAfter after the last one ends, when it is high.
type memoryLimits struct {
	low, high int64
	idleAfter time.Duration
	set       func(int64) int64           // debug.SetMemoryLimit
	after     func(time.Duration, func()) // time.AfterFunc

	mu      sync.Mutex
	running int    // checks running
	raised  bool   // the limit is high
	idle    uint64 // counts the times running fell to 0, so a late timer knows it is stale
}

func newMemoryLimits(low, high int64, idleAfter time.Duration, set func(int64) int64) *memoryLimits {
	set(low)
	return &memoryLimits{low: low, high: high, idleAfter: idleAfter, set: set,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// checking is called as a password check starts (true) and ends (false).
func (m *memoryLimits) checking(running bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if running {
		m.running++
		if !m.raised {
			m.set(m.high)
			m.raised = true
		}
		return
	}
	if m.running--; m.running == 0 {
		m.idle++
		idle := m.idle
		m.after(m.idleAfter, func() { m.lowerIfIdle(idle) })
	}
}

// lowerIfIdle lowers the limit if no check has run since the pool went idle
// for the idle-th time.
func (m *memoryLimits) lowerIfIdle(idle uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running == 0 && m.idle == idle && m.raised {
		m.set(m.low)
		m.raised = false
	}
}
