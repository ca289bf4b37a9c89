// Package oauth is latchkey's OAuth 2.0 core: the grants of the token
// endpoint, client authentication, scopes, introspection, revocation and
// metadata. Every protocol decision is made here, once; the standard
// endpoints and the vendor dialects only decode requests into this package's
// types and encode its results.
package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/tracing"
)

// Store is the part of storage the core uses: the directory it
// authenticates against, the grants it issues, consents, login throttling,
// the signing keys of JWTs, and the audit log of its security events.
// Sessions, sweeping and health are not its.
type Store interface {
	storage.Directory
	storage.Grants
	storage.Consents
	storage.LoginThrottle
	storage.SigningKeys
	storage.AuditLog
}

// Config configures the core. Zero fields take the defaults noted.
type Config struct {
	Store  Store
	Keys   *secrets.Keys
	Issuer string // the public base URL, without trailing slash
	Logger *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Argon2 are the parameters for new password hashes; secrets.DefaultArgon2 when zero.
	Argon2 secrets.Argon2Params
	// PasswordWorkers is how many password checks run at once; GOMAXPROCS when 0.
	PasswordWorkers int
	// PasswordQueue is how many more may wait for a worker; 64 when 0.
	PasswordQueue int
	// PasswordWait is how long one may wait before getting 503; 2s when 0.
	PasswordWait time.Duration
	// Throttle bounds failed logins; see Throttle.
	Throttle Throttle
	// Keyring signs JWT access tokens; one on Store is made when nil.
	Keyring *signing.Keyring
	// NoTokenIssuedEvents turns off the token.issued audit event that is
	// otherwise stored with every issue, in the tokens' transaction.
	NoTokenIssuedEvents bool
	// TracerProvider, when set, records a span "password.check" for each
	// password check (docs/TRACING.md).
	TracerProvider trace.TracerProvider
	// OnPasswordCheck, when set, is called with true as each password check
	// starts on a worker and with false as it ends (serve raises the memory
	// limit while checks run).
	OnPasswordCheck func(running bool)
}

// Throttle bounds guessing of passwords and client secrets (throttle.go).
// Past a budget the next failure under the same key waits Delay, each
// further one twice as long, up to MaxDelay; what is counted is forgotten
// Window after its last failure. Counts live in the database, so they hold
// across nodes. Zero fields take the defaults noted.
type Throttle struct {
	PerAccountSource int           // failed logins of one account from one source: 10
	PerSource        int           // failed logins from one source, any account: 100
	PerClientSource  int           // wrong secrets of one client from one source: 20
	Delay            time.Duration // 5 s
	MaxDelay         time.Duration // 15 minutes
	Window           time.Duration // 1 hour
}

// Server is the OAuth 2.0 core.
type Server struct {
	store     Store
	keys      *secrets.Keys
	issuer    string
	log       *slog.Logger
	now       func() time.Time
	argon2    secrets.Argon2Params
	pool      *pool
	throttle  Throttle
	keyring   *signing.Keyring
	clients   ttlCache[storage.Client]
	merchants ttlCache[storage.Merchant]
	// dummyHash is checked for unknown users so they cost what a wrong password costs.
	dummyHash string
	failures  failureLog // see unavailable.go
	// secretMarks says which clients have wrong secrets counted (throttle.go).
	secretMarks secretMarks
	hashes      atomic.Uint64 // password hashes checked, for PasswordChecks
	shed        atomic.Uint64 // logins refused for a full pool, for ShedLogins
	held        chan struct{} // refusals being held (shed.go)
	audits      auditor       // security events (audit.go)
	// throttleAudits bounds throttle.tripped events (audit.go).
	throttleAudits throttleAudits
	noIssuedEvents bool // Config.NoTokenIssuedEvents
}

// New builds the core from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Keys == nil {
		return nil, fmt.Errorf("oauth: Store and Keys are required")
	}
	s := &Server{store: cfg.Store, keys: cfg.Keys, issuer: cfg.Issuer, log: cfg.Logger, now: cfg.Now,
		argon2: cfg.Argon2, throttle: cfg.Throttle, noIssuedEvents: cfg.NoTokenIssuedEvents}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.argon2 == (secrets.Argon2Params{}) {
		s.argon2 = secrets.DefaultArgon2
	}
	s.throttle = s.throttle.withDefaults()
	s.audits.log, s.audits.logger = cfg.Store, s.log
	workers, queue, wait := cfg.PasswordWorkers, cfg.PasswordQueue, cfg.PasswordWait
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = 64
	}
	if wait <= 0 {
		wait = 2 * time.Second
	}
	s.pool = newPool(workers, queue, wait)
	s.held = make(chan struct{}, shedHeld)
	s.pool.tracer = tracing.Tracer(cfg.TracerProvider, "internal/oauth")
	s.pool.onCheck = cfg.OnPasswordCheck
	if s.keyring = cfg.Keyring; s.keyring == nil {
		kr, err := signing.New(cfg.Store, cfg.Keys, s.now)
		if err != nil {
			return nil, fmt.Errorf("oauth: %w", err)
		}
		s.keyring = kr
	}
	var err error
	if s.dummyHash, err = secrets.HashPassword("latchkey timing equaliser", s.argon2); err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	return s, nil
}

// PasswordChecks is how many password hashes the server has checked: the
// Argon2 work that logins, wanted or not, have cost.
func (s *Server) PasswordChecks() uint64 { return s.hashes.Load() }

// Issuer is the server's issuer URL.
func (s *Server) Issuer() string { return s.issuer }

// errBusy means the password pool is full.
var errBusy = fmt.Errorf("password check pool is full")

// pool runs password checks on a bounded number of workers with a bounded
// queue, so a flood of logins waits briefly or is refused, and memory use
// (Argon2id takes its memory parameter per check) stays bounded.
type pool struct {
	slots   chan struct{} // one per worker
	tickets chan struct{} // one per worker or waiting caller
	wait    time.Duration
	tracer  trace.Tracer       // nil when tracing is off (trace.go)
	onCheck func(running bool) // Config.OnPasswordCheck, or nil
}

func newPool(workers, queue int, wait time.Duration) *pool {
	return &pool{slots: make(chan struct{}, workers), tickets: make(chan struct{}, workers+queue), wait: wait}
}

// do runs fn on a worker, or returns errBusy when the queue is full or the
// wait runs out, or ctx's error. fn learns whether it queued for its worker:
// what it checked before queueing may have changed meanwhile.
func (p *pool) do(ctx context.Context, fn func(queued bool)) (err error) {
	if p.tracer != nil {
		var end func(error)
		fn, end = p.traceCheck(ctx, fn)
		defer func() { end(err) }()
	}
	select {
	case p.tickets <- struct{}{}:
	default:
		return errBusy
	}
	defer func() { <-p.tickets }()
	queued := false
	select {
	case p.slots <- struct{}{}:
	default:
		queued = true
		t := time.NewTimer(p.wait)
		defer t.Stop()
		select {
		case p.slots <- struct{}{}:
		case <-t.C:
			return errBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-p.slots }()
	if p.onCheck != nil {
		p.onCheck(true)
		defer p.onCheck(false)
	}
	fn(queued)
	return nil
}
