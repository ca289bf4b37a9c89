package oauth_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/server"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// Sources of the throttle tests, named by X-Forwarded-For through a
// trusted loopback proxy.
const (
	attacker = "203.0.113.7"
	owner    = "198.51.100.1"
)

// behindProxy serves h behind the server's source middleware, trusting the
// loopback peer, so each request's X-Forwarded-For is its source.
func behindProxy(t *testing.T, h http.Handler) string {
	t.Helper()
	front := httptest.NewServer(server.SourceAddress([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, h))
	t.Cleanup(front.Close)
	return front.URL
}

// reply is one answer: status, Retry-After in seconds (0: none), error code.
type reply struct {
	status int
	retry  int
	code   string
	err    error
}

// from posts form to base+path as coming from source, safe to call from any goroutine.
func from(base, source, path string, form url.Values, user, pass string) reply {
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", source)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	r := reply{status: resp.StatusCode}
	r.code, _ = m["error"].(string)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if r.retry, err = strconv.Atoi(ra); err != nil || r.retry <= 0 {
			r.err = fmt.Errorf("Retry-After %q is not a positive number of seconds", ra)
		}
	}
	return r
}

// released runs fn in n goroutines released together and returns their results.
func released[T any](n int, fn func() T) []T {
	out := make([]T, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = fn()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// tally counts replies that are `failed` (status, code) and those that are
// 429 with Retry-After and throttledCode; anything else fails the test.
func tally(t *testing.T, replies []reply, failed int, code, throttledCode string) (failures, throttled int) {
	t.Helper()
	for i, r := range replies {
		switch {
		case r.err != nil:
			t.Fatalf("reply %d: %v", i, r.err)
		case r.status == failed && r.code == code && r.retry == 0:
			failures++
		case r.status == http.StatusTooManyRequests && r.code == throttledCode && r.retry > 0:
			throttled++
		default:
			t.Fatalf("reply %d: %+v, want %d %s or 429 %s with Retry-After", i, r, failed, code, throttledCode)
		}
	}
	return failures, throttled
}

var (
	wrongPassword = url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {"wrong"}}
	rightPassword = url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {guestPass}}
	ccGrant       = url.Values{"grant_type": {oauth.GrantClientCredentials}}
)

// TestLoginGuessesCannotBeRaced: of 100 concurrent wrong guesses on one
// account from one source, at most the budget are answered as failures and
// the rest 429 with Retry-After; the owner's right password from another
// source gets in at once; the guessing source waits longer after every
// failure.
func TestLoginGuessesCannotBeRaced(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		// A queue for every guess: on a small machine the password pool
		// would refuse part of the burst with 503, its own bound, not the
		// throttle's.
		const workers = 2
		e := newEnv(t, st, oauth.Config{PasswordQueue: 128, PasswordWorkers: workers})
		base := behindProxy(t, e.srv.Config.Handler)
		const budget = 10 // oauth.Throttle's PerAccountSource default
		before := e.core.PasswordChecks()
		replies := released(100, func() reply { return from(base, attacker, "/oauth2/token", wrongPassword, guestApp, guestSec) })
		hashed := e.core.PasswordChecks() - before
		checked, throttled := tally(t, replies, http.StatusBadRequest, "invalid_grant", "invalid_grant")
		t.Logf("100 concurrent guesses: %d answered invalid_grant, %d throttled, %d hashed", checked, throttled, hashed)
		if checked > budget || checked == 0 {
			t.Fatalf("%d of 100 concurrent guesses were answered invalid_grant; the budget is %d", checked, budget)
		}
		// The guesses that queued for a worker read the keys again: only
		// those already hashing when the budget ran out cost a hash more.
		if hashed > budget+workers {
			t.Fatalf("100 concurrent guesses cost %d password hashes; at most %d (the budget plus one per worker) may", hashed, budget+workers)
		}

		if r := from(base, owner, "/oauth2/token", rightPassword, guestApp, guestSec); r.status != http.StatusOK {
			t.Fatalf("the owner from a clean source: %+v", r)
		}
		// The right password from the guessing source is refused too, or
		// the refusals would tell right guesses from wrong ones.
		r := from(base, attacker, "/oauth2/token", rightPassword, guestApp, guestSec)
		if r.status != http.StatusTooManyRequests || r.retry == 0 {
			t.Fatalf("the right password from the throttled source: %+v", r)
		}
		wait := r.retry
		for i := range 4 {
			e.clock.Add(time.Duration(wait) * time.Second)
			if r := from(base, attacker, "/oauth2/token", wrongPassword, guestApp, guestSec); r.status != http.StatusBadRequest {
				t.Fatalf("guess %d once the wait of %ds ended: %+v", i, wait, r)
			}
			r := from(base, attacker, "/oauth2/token", wrongPassword, guestApp, guestSec)
			if r.status != http.StatusTooManyRequests || r.retry <= wait {
				t.Fatalf("after guess %d, Retry-After %d did not grow from %d: %+v", i, r.retry, wait, r)
			}
			wait = r.retry
		}
	})
}

// TestClientSecretGuessing: 300 concurrent wrong secrets end in 429s; a
// right secret from the guessing source is refused while its wait runs,
// one from another source is not.
func TestClientSecretGuessing(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		base := behindProxy(t, e.srv.Config.Handler)
		const budget = 20 // oauth.Throttle's PerClientSource default
		replies := released(300, func() reply { return from(base, attacker, "/oauth2/token", ccGrant, confID, "guess") })
		checked, throttled := tally(t, replies, http.StatusUnauthorized, "invalid_client", "invalid_client")
		t.Logf("300 concurrent wrong secrets: %d answered 401, %d throttled", checked, throttled)
		if checked > budget {
			t.Fatalf("%d of 300 wrong secrets were answered 401; the budget is %d", checked, budget)
		}
		r := from(base, attacker, "/oauth2/token", ccGrant, confID, confSecret)
		if r.status != http.StatusTooManyRequests || r.code != "invalid_client" || r.retry == 0 {
			t.Fatalf("the right secret from the throttled source: %+v", r)
		}
		if r := from(base, owner, "/oauth2/token", ccGrant, confID, confSecret); r.status != http.StatusOK {
			t.Fatalf("the right secret from a clean source: %+v", r)
		}
		e.clock.Add(time.Duration(r.retry) * time.Second)
		if r := from(base, attacker, "/oauth2/token", ccGrant, confID, confSecret); r.status != http.StatusOK {
			t.Fatalf("the right secret once the wait ended: %+v", r)
		}
	})
}

// TestClientSecretThrottleAcrossNodes: wrong secrets counted on one node
// hold a right secret from the same source back on another node, once that
// node's view of the client (at most a second old) is refreshed.
func TestClientSecretThrottleAcrossNodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		nodeA := behindProxy(t, e.srv.Config.Handler)
		core, err := oauth.New(oauth.Config{Store: e.store, Keys: e.keys, Issuer: e.srv.URL, Now: e.clock.Now, Argon2: fastArgon2,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		core.Routes(mux)
		nodeB := behindProxy(t, mux)
		// Node B has seen the client without failures.
		if r := from(nodeB, attacker, "/oauth2/token", ccGrant, confID, confSecret); r.status != http.StatusOK {
			t.Fatalf("before any failure: %+v", r)
		}
		for i := range 21 {
			want := http.StatusUnauthorized
			if i == 20 {
				want = http.StatusTooManyRequests
			}
			if r := from(nodeA, attacker, "/oauth2/token", ccGrant, confID, "guess"); r.status != want {
				t.Fatalf("wrong secret %d on node A: %+v, want %d", i, r, want)
			}
		}
		e.clock.Add(time.Second) // node B reads the client's mark again
		r := from(nodeB, attacker, "/oauth2/token", ccGrant, confID, confSecret)
		if r.status != http.StatusTooManyRequests || r.retry == 0 {
			t.Fatalf("right secret on node B from the source node A throttled: %+v", r)
		}
		if r := from(nodeB, owner, "/oauth2/token", ccGrant, confID, confSecret); r.status != http.StatusOK {
			t.Fatalf("right secret on node B from a clean source: %+v", r)
		}
	})
}

// eachRawStore is eachStore with a second connection to the same database,
// for reading its tables directly.
func eachRawStore(t *testing.T, fn func(t *testing.T, open func(migrateTo int) storage.Storage, raw *sql.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lk.db")
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		fn(t, func(to int) storage.Storage {
			o := opts()
			o.MigrateTo = to
			st, err := sqlite.Open(context.Background(), path, o)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}, raw)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		fn(t, func(to int) storage.Storage {
			o := opts()
			o.MigrateTo = to
			st, err := postgres.Open(context.Background(), dsn, o)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}, raw)
	})
}

// TestThrottleKeysHoldNothingTyped: after failed logins (one with a
// password typed into the username field) and a wrong client secret, no
// throttle key holds a username, an address, a client or a merchant.
func TestThrottleKeysHoldNothingTyped(t *testing.T) {
	eachRawStore(t, func(t *testing.T, open func(int) storage.Storage, raw *sql.DB) {
		e := newEnv(t, open(0), oauth.Config{})
		base := behindProxy(t, e.srv.Config.Handler)
		const typed = "Tr0ub4dor&3-Password"
		for _, u := range []string{typed, guestUser} {
			form := url.Values{"grant_type": {"password"}, "username": {u}, "password": {"wrong"}}
			if r := from(base, attacker, "/oauth2/token", form, guestApp, guestSec); r.status != http.StatusBadRequest {
				t.Fatalf("failed login as %q: %+v", u, r)
			}
		}
		if r := from(base, attacker, "/oauth2/token", ccGrant, confID, "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %+v", r)
		}
		rows, err := raw.Query(`SELECT key FROM login_failures`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				t.Fatal(err)
			}
			n++
			for _, clear := range []string{typed, guestUser, attacker, merchantID, guestApp, confID + ":", ":" + confID} {
				if strings.Contains(strings.ToLower(key), strings.ToLower(clear)) {
					t.Errorf("throttle key %q holds %q", key, clear)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n < 4 { // two logins, their source, a client and source, the client's mark
			t.Fatalf("%d throttle rows, want the failures counted", n)
		}
	})
}

// TestMigrationForgetsClearTextThrottleRows: upgrading a database whose
// login_failures name accounts in clear deletes those rows.
func TestMigrationForgetsClearTextThrottleRows(t *testing.T) {
	eachRawStore(t, func(t *testing.T, open func(int) storage.Storage, raw *sql.DB) {
		old := open(5)
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		reset := time.Now().Add(time.Hour).UnixMilli()
		if _, err := raw.Exec(`INSERT INTO login_failures (key, count, reset_at) VALUES ($1, 3, $2), ($3, 1, $2)`,
			"account:guest:777777:hunter2", reset, "client-addr:guest-app:203.0.113.7"); err != nil {
			t.Fatal(err)
		}
		st := open(sqlstore.SchemaVersion())
		defer st.Close()
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM login_failures`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%d clear-text throttle rows survived the upgrade", n)
		}
	})
}

// TestConcurrentRightLoginsAreNotThrottled: many concurrent right logins
// of one account from one source (an integrator's backend) all succeed:
// nothing is counted for a login in flight.
func TestConcurrentRightLoginsAreNotThrottled(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Storage) {
		// The queue may wait long: on a loaded machine 64 hashes on two
		// workers can take more than the default 2 s, and a 503 from the
		// queue is not what this test is about.
		e := newEnv(t, st, oauth.Config{PasswordQueue: 128, PasswordWait: time.Minute})
		base := behindProxy(t, e.srv.Config.Handler)
		for i, r := range released(64, func() reply { return from(base, owner, "/oauth2/token", rightPassword, guestApp, guestSec) }) {
			if r.err != nil || r.status != http.StatusOK {
				t.Fatalf("right login %d of 64 concurrent: %+v", i, r)
			}
		}
	})
}

// TestLoginsShedWhenPoolIsFull: with the password pool full, a login is
// refused with 503 and a Retry-After of 1 to 4 s, spread over that range,
// before its client is authenticated (a wrong secret is not counted) and
// without a password check; other grants go on, and logins resume once the
// pool has room.
func TestLoginsShedWhenPoolIsFull(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		base := behindProxy(t, e.srv.Config.Handler)
		release := e.core.FillPasswordPool()
		checks, shed := e.core.PasswordChecks(), e.core.ShedLogins()
		replies := released(24, func() reply {
			return from(base, attacker, "/oauth2/token", rightPassword, guestApp, "not-the-secret")
		})
		replies = append(replies, from(base, owner, "/oauth2/token", rightPassword, guestApp, guestSec))
		retries := map[int]bool{}
		for i, r := range replies {
			if r.err != nil || r.status != http.StatusServiceUnavailable || r.code != "temporarily_unavailable" || r.retry < 1 || r.retry > 4 {
				t.Fatalf("login %d with the pool full: %+v, want 503 temporarily_unavailable with Retry-After 1 to 4", i, r)
			}
			retries[r.retry] = true
		}
		if len(retries) < 2 { // all 25 alike: about 1 in 10^14 if spread
			t.Errorf("every refusal said Retry-After %v; want them spread", retries)
		}
		if n := e.core.PasswordChecks() - checks; n != 0 {
			t.Errorf("%d password checks while the pool was full", n)
		}
		if n := e.core.ShedLogins() - shed; n != uint64(len(replies)) {
			t.Errorf("ShedLogins grew by %d, want %d", n, len(replies))
		}
		if r := from(base, owner, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, confID, confSecret); r.status != http.StatusOK {
			t.Fatalf("client_credentials with the password pool full: %+v", r)
		}
		release()
		// The wrong secrets above were never checked, so nothing throttles this.
		if r := from(base, attacker, "/oauth2/token", rightPassword, guestApp, guestSec); r.status != http.StatusOK {
			t.Fatalf("login once the pool has room: %+v", r)
		}
	})
}

// TestPasswordCheckHook: Config.OnPasswordCheck hears each check start and
// end, once each, around the check itself (serve moves the memory limit on it).
func TestPasswordCheckHook(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"), opts())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var heard []bool
	e := newEnv(t, st, oauth.Config{OnPasswordCheck: func(running bool) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, running)
	}})
	e.login(guestApp, guestSec)
	status, _, _ := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {guestUser},
		"password": {"wrong"}}, guestApp, guestSec)
	if status != http.StatusBadRequest {
		t.Fatalf("wrong password: %d", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(heard, []bool{true, false, true, false}) {
		t.Fatalf("hook heard %v, want a start and an end per login", heard)
	}
}
