package admin_test

import (
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/faultproxy"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestStalledDatabase: with PostgreSQL stalled, admin calls answer 503
// with Retry-After within the 2 s bound, as documented problems, and work
// again once it answers; nothing waits for the database forever.
func TestStalledDatabase(t *testing.T) {
	proxy, pdsn := faultproxy.Before(t, pgtest.DSN(t))
	e := startOn(t, pdsn)
	e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/accounts", nil))

	proxy.Set(faultproxy.Stall)
	for _, c := range []struct{ method, path string }{
		{"GET", "/admin/v1/accounts"},
		{"GET", "/admin/v1/clients/awesomesite"},
		{"POST", "/admin/v1/accounts/acc_demo_johndoe/disable"},
	} {
		start := time.Now()
		r := e.call(t, e.platform, c.method, c.path, nil)
		took := time.Since(start)
		r.problem(t, 503, "")
		if r.header.Get("Retry-After") == "" || took > 2*time.Second {
			t.Errorf("%s %s with the database stalled: Retry-After %q after %v; want one within 2s",
				c.method, c.path, r.header.Get("Retry-After"), took)
		}
	}

	proxy.Set(faultproxy.Forward)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.call(t, e.platform, "GET", "/admin/v1/accounts", nil)
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d %s 10s after the database came back", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline, not waiting for a server to start
	}
}
