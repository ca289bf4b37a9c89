package oauth

import (
	"context"
	"math/rand/v2"
	"time"
)

// Shedding logins when the password pool is full. A refusal must cost far
// less than the Argon2 check it spares, or a flood of them takes the CPU the
// checks need: answered at once after reading the throttle and the account,
// a c=500 flood of logins on two cores refused 5,600 a second and goodput
// fell from 66 logins/s (c=16) to 25/s (docs/PERFORMANCE.md). So a login is
// refused before its client is authenticated or anything is read, and the
// refusal is held back for a moment, which costs a timer and no CPU: a
// client that retries at once (a flood does) comes back at most about once
// a second instead of thousands of times.
const (
	shedHoldMin = 500 * time.Millisecond  // least a refusal is held
	shedHoldMax = 1000 * time.Millisecond // most
	// shedHeld bounds the refusals held at once (a goroutine and a connection
	// each, about 16 KiB); past it they are answered at once.
	shedHeld = 1024
	// Retry-After is spread over 1 to 4 seconds so refused clients that obey
	// it do not all return in the same second.
	retryAfterMin, retryAfterMax = 1 * time.Second, 4 * time.Second
)

// full reports whether do would refuse a check at once. It is a hint (a
// place may free up the next instant), used to refuse before any work.
func (p *pool) full() bool { return len(p.tickets) == cap(p.tickets) }

// shedLogin refuses a login for want of room in the password pool: 503 with
// a spread Retry-After, after a short hold (see shedHoldMin).
func (s *Server) shedLogin(ctx context.Context) *Error {
	s.noteFailure(ctx, "password check pool full; refusing login", errBusy)
	s.shed.Add(1)
	if s.pool.tracer != nil { // a password.check span refused with pool_full, as pool.do's
		_, end := s.pool.traceCheck(ctx, nil)
		defer end(errBusy)
	}
	select {
	case s.held <- struct{}{}:
		t := time.NewTimer(shedHoldMin + rand.N(shedHoldMax-shedHoldMin))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		<-s.held
	default: // too many held already: answer now
	}
	return busy(spreadRetry())
}

// spreadRetry is a Retry-After in whole seconds, from retryAfterMin to
// retryAfterMax.
func spreadRetry() time.Duration {
	n := int64((retryAfterMax-retryAfterMin)/time.Second) + 1
	return retryAfterMin + time.Duration(rand.N(n))*time.Second
}

// ShedLogins is how many logins were refused because the password pool was full.
func (s *Server) ShedLogins() uint64 { return s.shed.Load() }
