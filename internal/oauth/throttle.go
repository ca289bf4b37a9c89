package oauth

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Guessing is throttled per key, each key a keyed hash (HMAC under the
// system secret) of what it names, so the database never holds what anyone
// typed (docs/SECURITY.md, "Guessing"):
//
//   - a login, per account and source: PerAccountSource failures, then a
//     wait that doubles with every further failure. A right password from
//     that source forgets them. Other sources are not slowed, so an
//     attacker cannot lock the owner out;
//   - a login, per source (any account, any client): PerSource failures,
//     then the same growing wait, against one source trying many accounts;
//   - a client secret, per client and source: PerClientSource wrong
//     secrets, then the same growing wait.
//
// A guess is checked first, and its failure then counted atomically, only
// while no key makes failures wait; a failure it could not count is
// answered 429, not as a failure. A right guess reads its keys after its
// check and is answered 429 too once they wait, so no answer tells a right
// guess from a wrong one beyond the budget: of concurrent guesses, however
// many, no more than the budget get an answer that depends on the guess.
// The check runs first so that nothing is held for a guess in flight: a
// count taken before the check would make concurrent right logins of one
// account from one server (an integrator's backend) count against its
// budget, and would stay counted if the process died mid-check. While a key
// waits, logins are refused before the password is hashed.

// Throttle budgets; see Throttle.
const (
	defaultPerAccountSource = 10
	defaultPerSource        = 100
	defaultPerClientSource  = 20
	defaultDelay            = 5 * time.Second
	defaultMaxDelay         = 15 * time.Minute
	defaultWindow           = time.Hour
)

// withDefaults fills the zero fields of t.
func (t Throttle) withDefaults() Throttle {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&t.PerAccountSource, defaultPerAccountSource)
	set(&t.PerSource, defaultPerSource)
	set(&t.PerClientSource, defaultPerClientSource)
	setD(&t.Delay, defaultDelay)
	setD(&t.MaxDelay, defaultMaxDelay)
	setD(&t.Window, defaultWindow)
	return t
}

func (t Throttle) rule(free int) storage.ThrottleRule {
	return storage.ThrottleRule{Free: free, Delay: t.Delay, MaxDelay: t.MaxDelay, Window: t.Window}
}

// throttleKey is the stored key for the parts: a tag saying which kind of
// key it is, and an HMAC of the parts joined with NUL. Only a typed
// username can hold a NUL, and a source (which cannot) always follows it,
// so no two part lists join alike.
func (s *Server) throttleKey(tag string, parts ...string) string {
	return tag + ":" + s.keys.MAC("throttle", []byte(strings.Join(parts, "\x00")))
}

// sourceKey is what a source address is counted under: an IPv4 address as
// it is, an IPv6 address by its /64, since whoever holds one address of a
// /64 usually holds all of it.
func sourceKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr // not an IP (a test's pipe, a Unix socket): counted as given
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// loginKeys are the keys a login's failure is counted under: account and
// source first (a right password forgets it), then source.
func (s *Server) loginKeys(kind storage.AccountKind, merchantID, username, source string) [2]storage.ThrottleKey {
	src := sourceKey(source)
	user := strings.ToLower(strings.TrimSpace(username))
	return [2]storage.ThrottleKey{
		{Key: s.throttleKey("login", string(kind), merchantID, user, src), Rule: s.throttle.rule(s.throttle.PerAccountSource)},
		{Key: s.throttleKey("source", src), Rule: s.throttle.rule(s.throttle.PerSource)},
	}
}

// loginWait reads a login's keys: 429 while one of them makes failures
// wait. It runs before the password check, so a throttled guess costs no
// hash, and after a right one, so that it is refused alike.
func (s *Server) loginWait(ctx context.Context, keys [2]storage.ThrottleKey) ([]storage.Failures, *Error) {
	now := s.now()
	fs, err := s.store.Failures(ctx, now, keys[0].Key, keys[1].Key)
	if err != nil {
		return nil, s.unavailable(ctx, "read login failures", err)
	}
	var retry time.Time
	for _, f := range fs {
		if f.RetryAt.After(retry) {
			retry = f.RetryAt
		}
	}
	if retry.After(now) {
		return nil, tooManyAttempts(retry.Sub(now))
	}
	return fs, nil
}

// loginFailed counts a failed login: errBadLogin once counted, 429 when a
// key made it wait (concurrent failures spent the budget first).
func (s *Server) loginFailed(ctx context.Context, keys [2]storage.ThrottleKey) *Error {
	now := s.now()
	f, err := s.store.CountFailure(ctx, now, keys[:]...)
	if err != nil {
		return s.unavailable(ctx, "count login failure", err)
	}
	if !f.Counted {
		return tooManyAttempts(f.RetryAt.Sub(now))
	}
	return errBadLogin()
}

func tooManyAttempts(retry time.Duration) *Error {
	retry = max(retry, time.Second)
	e := Errorf(http.StatusTooManyRequests, ErrInvalidGrant, "too many failed login attempts; retry in %d seconds", secondsCeil(retry))
	e.RetryAfter = retry
	return e
}

func tooManySecrets(retry time.Duration) *Error {
	retry = max(retry, time.Second)
	e := Errorf(http.StatusTooManyRequests, ErrInvalidClient, "too many failed client authentications; retry in %d seconds", secondsCeil(retry))
	e.RetryAfter = retry
	return e
}

// Client secrets are checked like passwords, with one difference: the hot
// path of a right secret (client_credentials, thousands a second) must not
// touch the database, where a login reads its keys. A wrong secret is
// counted under its client and source, and under a per-client mark that
// says "this client has failures". A right secret must still be refused
// from a source that waits, or the refusals would tell right guesses from
// wrong ones; it reads its client and source's count only while its client
// is marked. Each node keeps the marks in memory: a mark it set or read
// stays until the window would forget it; "no mark" is read again from the
// database after markRefresh. The cost: one read per client per second per
// node, and one read per request of a marked client. The limit: until this
// node has seen a failure of the client itself, or for up to markRefresh
// after another node counted one, it accepts a right secret without
// looking, so a burst of concurrent guesses there is answered in full (the
// wrong ones are still counted; a right one would pass). Generated secrets
// hold 256 random bits, so no burst finds one; the gap matters only for
// weak secrets imported from elsewhere, and closing it would cost a read
// on every request.
const markRefresh = time.Second

// secretMarks is each client's mark as this node knows it.
type secretMarks struct {
	mu sync.Mutex
	m  map[string]secretMark
}

type secretMark struct {
	until   time.Time // the client has failures counted until then
	checked time.Time // when the database last said it had none
}

func (m *secretMarks) get(id string) (secretMark, bool) {
	m.mu.Lock()
	e, ok := m.m[id]
	m.mu.Unlock()
	return e, ok
}

func (m *secretMarks) put(id string, e secretMark) {
	m.mu.Lock()
	if m.m == nil || len(m.m) >= maxCached {
		m.m = map[string]secretMark{} // ids are of stored clients, so this seldom fills
	}
	m.m[id] = e
	m.mu.Unlock()
}

// secretKeys are a client's keys for a source: its client and source
// count, and its mark (counting only, never a wait).
func (s *Server) secretKeys(clientID, source string) [2]storage.ThrottleKey {
	return [2]storage.ThrottleKey{
		{Key: s.throttleKey("secret", clientID, sourceKey(source)), Rule: s.throttle.rule(s.throttle.PerClientSource)},
		{Key: s.markKey(clientID), Rule: storage.ThrottleRule{Window: s.throttle.Window}},
	}
}

func (s *Server) markKey(clientID string) string { return s.throttleKey("secret-mark", clientID) }

// wrongSecret counts a wrong secret of client id from source: nil while
// the budget allows it (the caller answers invalid_client), else 429.
func (s *Server) wrongSecret(ctx context.Context, id, source string) *Error {
	now := s.now()
	keys := s.secretKeys(id, source)
	f, err := s.store.CountFailure(ctx, now, keys[:]...)
	if err != nil {
		return s.unavailable(ctx, "count failed client authentication", err)
	}
	until := now.Add(s.throttle.Window)
	if !f.Counted {
		until = f.ResetAt
	}
	if e, ok := s.secretMarks.get(id); !ok || e.until.Before(until) {
		s.secretMarks.put(id, secretMark{until: until})
	}
	if !f.Counted {
		s.log.DebugContext(ctx, "client authentication throttled", "client_id", id)
		return tooManySecrets(f.RetryAt.Sub(now))
	}
	return nil
}

// secretWait refuses a right secret of client id from a source that must
// still wait; see markRefresh.
func (s *Server) secretWait(ctx context.Context, id, source string) *Error {
	now := s.now()
	e, ok := s.secretMarks.get(id)
	if !now.Before(e.until) && (!ok || !now.Before(e.checked.Add(markRefresh))) {
		mark, err := s.store.Failures(ctx, now, s.markKey(id))
		if err != nil {
			return s.unavailable(ctx, "read client authentication failures", err)
		}
		e = secretMark{until: mark[0].ResetAt, checked: now}
		s.secretMarks.put(id, e)
	}
	if !now.Before(e.until) {
		return nil // no failures of this client anywhere: the hot path
	}
	fs, err := s.store.Failures(ctx, now, s.throttleKey("secret", id, sourceKey(source)))
	if err != nil {
		return s.unavailable(ctx, "read client authentication failures", err)
	}
	if fs[0].RetryAt.After(now) {
		s.log.DebugContext(ctx, "client authentication throttled", "client_id", id)
		return tooManySecrets(fs[0].RetryAt.Sub(now))
	}
	return nil
}

// The source of a request: the address it came from, as the server's
// middleware decided it (the socket's peer, or the client a trusted proxy
// names), carried in the request's context.
type sourceCtxKey struct{}

// sourceCtx carries a source in one allocation, where context.WithValue
// would take two (the context and the boxed string): it is made for every
// request.
type sourceCtx struct {
	context.Context
	src string
}

func (c *sourceCtx) Value(key any) any {
	if key == (sourceCtxKey{}) {
		return &c.src
	}
	return c.Context.Value(key)
}

// WithSource returns ctx carrying addr as the request's source address.
func WithSource(ctx context.Context, addr string) context.Context {
	return &sourceCtx{Context: ctx, src: addr}
}

// SourceFrom returns the source address in ctx, or "" when none was set.
func SourceFrom(ctx context.Context) string {
	if p, ok := ctx.Value(sourceCtxKey{}).(*string); ok {
		return *p
	}
	return ""
}
