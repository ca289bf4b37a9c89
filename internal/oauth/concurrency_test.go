package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
)

const racers = 20

type answer struct {
	status int
	body   map[string]any
}

// race sends the same form from racers goroutines released together.
func (e *env) race(form url.Values, user, pass string) []answer {
	return released(racers, func() answer {
		status, _, m := e.post("/oauth2/token", form, user, pass)
		return answer{status, m}
	})
}

// oneWinner checks that exactly one answer is 200 and every other is
// invalid_grant, and returns the winner's body.
func oneWinner(t *testing.T, answers []answer) map[string]any {
	t.Helper()
	var winner map[string]any
	for i, a := range answers {
		switch {
		case a.status == http.StatusOK:
			if winner != nil {
				t.Fatalf("two racers succeeded (racer %d)", i)
			}
			winner = a.body
		case a.status != http.StatusBadRequest || a.body["error"] != "invalid_grant":
			t.Fatalf("racer %d: %d %v", i, a.status, a.body)
		}
	}
	if winner == nil {
		t.Fatal("no racer succeeded")
	}
	return winner
}

func (e *env) login(client, secret string) (access, refresh string) {
	e.t.Helper()
	status, _, m := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {guestPass}}, client, secret)
	if status != http.StatusOK {
		e.t.Fatalf("login: %d %v", status, m)
	}
	return m["access_token"].(string), m["refresh_token"].(string)
}

func (e *env) refresh(client, secret, rt string) answer {
	e.t.Helper()
	status, _, m := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, client, secret)
	return answer{status, m}
}

func TestConcurrentRefreshWithGraceGetsSameSuccessor(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		_, rt := e.login(guestApp, guestSec)
		answers := e.race(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, guestApp, guestSec)
		first := answers[0].body
		for i, a := range answers {
			if a.status != http.StatusOK {
				t.Fatalf("racer %d: %d %v", i, a.status, a.body)
			}
			if a.body["refresh_token"] != first["refresh_token"] || a.body["access_token"] != first["access_token"] {
				t.Fatalf("racer %d got a different successor", i)
			}
		}
		if !e.active(first["access_token"].(string)) || !e.active(first["refresh_token"].(string)) {
			t.Fatal("the shared successor is not active")
		}
	})
}

// TestConcurrentRefreshWithMovingClock: racers that read the token before
// the winner rotated it derive successors for their own time, and must still
// be handed the winner's.
func TestConcurrentRefreshWithMovingClock(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		_, rt := e.login(guestApp, guestSec)
		e.clock.SetTick(time.Millisecond)
		defer e.clock.SetTick(0)
		answers := e.race(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, guestApp, guestSec)
		first := answers[0].body
		for i, a := range answers {
			if a.status != http.StatusOK {
				t.Fatalf("racer %d: %d %v", i, a.status, a.body)
			}
			if a.body["refresh_token"] != first["refresh_token"] || a.body["access_token"] != first["access_token"] {
				t.Fatalf("racer %d got a different successor", i)
			}
		}
	})
}

func TestConcurrentRefreshWithoutGraceRevokesFamily(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		at, rt := e.login(nograceApp, nograSec)
		answers := e.race(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, nograceApp, nograSec)
		winner := oneWinner(t, answers)
		for _, tok := range []string{at, winner["access_token"].(string), winner["refresh_token"].(string)} {
			if e.active(tok) {
				t.Fatal("a token of the replayed family is still active")
			}
		}
	})
}

func TestReplayOfOlderRefreshTokenAfterSuccessorUsed(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		_, a := e.login(guestApp, guestSec)
		b := e.refresh(guestApp, guestSec, a)
		if b.status != http.StatusOK {
			t.Fatalf("A→B: %v", b.body)
		}
		c := e.refresh(guestApp, guestSec, b.body["refresh_token"].(string))
		if c.status != http.StatusOK {
			t.Fatalf("B→C: %v", c.body)
		}
		again := e.refresh(guestApp, guestSec, a) // inside the grace window, but B was used
		if again.status != http.StatusBadRequest || again.body["error"] != "invalid_grant" {
			t.Fatalf("A again: %d %v", again.status, again.body)
		}
		if e.active(c.body["access_token"].(string)) || e.active(c.body["refresh_token"].(string)) {
			t.Fatal("C is still active after the replay of A")
		}
	})
}

func TestConcurrentCodeExchangeExactlyOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		code := e.code(guestApp, "", "")
		answers := e.race(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, guestApp, guestSec)
		winner := oneWinner(t, answers)
		if e.active(winner["access_token"].(string)) || e.active(winner["refresh_token"].(string)) {
			t.Fatal("the winner's tokens survived the replays")
		}
	})
}

func TestIntrospectionReflectsRevocationAndExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		at, rt := e.login(guestApp, guestSec)
		if !e.active(at) || !e.active(rt) {
			t.Fatal("fresh tokens inactive")
		}
		// Revoking the access token alone.
		if status, _, _ := e.post("/oauth2/revoke", url.Values{"token": {at}}, guestApp, guestSec); status != http.StatusOK {
			t.Fatalf("revoke: %d", status)
		}
		if e.active(at) || !e.active(rt) {
			t.Fatal("access revocation not reflected, or it took the refresh token too")
		}
		// Revoking a refresh token revokes its family.
		at2, rt2 := e.login(guestApp, guestSec)
		if status, _, _ := e.post("/oauth2/revoke", url.Values{"token": {rt2}, "token_type_hint": {"refresh_token"}}, guestApp, guestSec); status != http.StatusOK {
			t.Fatalf("revoke refresh: %d", status)
		}
		if e.active(at2) || e.active(rt2) {
			t.Fatal("family revocation not reflected")
		}
		// Another client cannot revoke; unknown tokens answer 200.
		at3, _ := e.login(guestApp, guestSec)
		for _, tok := range []string{at3, "lk_at_unknown", "garbage"} {
			if status, _, _ := e.post("/oauth2/revoke", url.Values{"token": {tok}}, nograceApp, nograSec); status != http.StatusOK {
				t.Fatalf("revoke %q by another client: %d", tok, status)
			}
		}
		if !e.active(at3) {
			t.Fatal("another client revoked a token it does not own")
		}
		// Expiry.
		e.clock.Add(31 * time.Minute)
		if in := e.introspect(at3); in["active"] != false || len(in) != 1 {
			t.Fatalf("expired token introspection %v", in)
		}
		// Public clients may not introspect; bad callers get invalid_client.
		if status, _, m := e.post("/oauth2/introspect", url.Values{"token": {at3}, "client_id": {publicApp}}, "", ""); status != http.StatusBadRequest {
			t.Fatalf("public introspection: %d %v", status, m)
		}
		if status, h, _ := e.post("/oauth2/introspect", url.Values{"token": {at3}}, rsID, "wrong"); status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("bad introspection credentials: %d", status)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		bad := url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {"wrong"}}
		for range 10 {
			if status, _, _ := e.post("/oauth2/token", bad, guestApp, guestSec); status != http.StatusBadRequest {
				t.Fatalf("failed login: %d", status)
			}
		}
		status, h, m := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {guestPass}}, guestApp, guestSec)
		if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || m["error"] != "invalid_grant" {
			t.Fatalf("11th attempt: %d %v %v", status, h.Get("Retry-After"), m)
		}
		e.clock.Add(16 * time.Minute)
		e.login(guestApp, guestSec) // the window ended
	})
}

// TestPasswordFlood sends 300 concurrent wrong-password requests at a server
// whose password pool holds 2 workers and 8 waiting, with production Argon2id
// parameters (19 MiB per check): every answer is 400, 429 or 503, and the
// heap stays bounded — unbounded, 150 concurrent checks for unknown users
// alone would need close to 3 GiB.
func TestPasswordFlood(t *testing.T) {
	st, err := sqlite.Open(context.Background(), t.TempDir()+"/lk.db", opts())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st, oauth.Config{Argon2: secrets.DefaultArgon2, PasswordWorkers: 2, PasswordQueue: 8, PasswordWait: 50 * time.Millisecond,
		Throttle: oauth.Throttle{PerAccountSource: 1 << 20, PerSource: 1 << 20}})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// Sample the heap while the flood runs and keep its peak.
	var peak uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	const n = 300
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := guestUser
			if i%2 == 0 {
				user = "ghost"
			}
			status, _, _ := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {"wrong"}}, guestApp, guestSec)
			statuses <- status
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	for s := range counts {
		if s != http.StatusBadRequest && s != http.StatusTooManyRequests && s != http.StatusServiceUnavailable {
			t.Fatalf("flood answers %v: status %d is not 400, 429 or 503", counts, s)
		}
	}
	// Two workers hold 2 × 19 MiB; allow that plus request overhead.
	if grown := int64(peak) - int64(before.HeapAlloc); grown > 128<<20 {
		t.Fatalf("heap peaked %d MiB above its start under the flood (answers %v)", grown>>20, counts)
	}
	if counts[http.StatusServiceUnavailable] == 0 {
		t.Fatalf("no request was refused by the bounded pool (answers %v)", counts)
	}
	t.Logf("answers: %v", counts)
}

// TestRefreshFamilyAbsoluteLifetime: rotation does not restart the refresh
// token's lifetime; past the client's RefreshTokenTTL the family is done.
func TestRefreshFamilyAbsoluteLifetime(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		_, rt := e.login(guestApp, guestSec) // refresh lifetime 24h
		e.clock.Add(23 * time.Hour)
		next := e.refresh(guestApp, guestSec, rt)
		if next.status != http.StatusOK {
			t.Fatalf("refresh at 23h: %v", next.body)
		}
		e.clock.Add(2 * time.Hour)
		late := e.refresh(guestApp, guestSec, next.body["refresh_token"].(string))
		if late.status != http.StatusBadRequest || late.body["error"] != "invalid_grant" {
			t.Fatalf("refresh at 25h: %d %v", late.status, late.body)
		}
	})
}

// TestClientCacheBound: a rotated secret takes effect within ClientCacheTTL.
func TestClientCacheBound(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		cc := url.Values{"grant_type": {"client_credentials"}}
		if status, _, _ := e.post("/oauth2/token", cc, confID, confSecret); status != http.StatusOK {
			t.Fatal("first request failed")
		}
		err := e.store.UpdateClient(context.Background(), confID, func(c storage.Client) (storage.Client, error) {
			c.SecretHash = e.keys.HashClientSecret("rotated-secret")
			return c, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if status, _, _ := e.post("/oauth2/token", cc, confID, confSecret); status != http.StatusOK {
			t.Fatal("within the cache bound the cached client should still be used")
		}
		e.clock.Add(oauth.ClientCacheTTL)
		if status, _, _ := e.post("/oauth2/token", cc, confID, confSecret); status != http.StatusUnauthorized {
			t.Fatalf("old secret accepted after the cache bound: %d", status)
		}
		if status, _, _ := e.post("/oauth2/token", cc, confID, "rotated-secret"); status != http.StatusOK {
			t.Fatalf("new secret refused: %d", status)
		}
	})
}
