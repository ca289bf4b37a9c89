// Package server wires latchkey's HTTP side: the routes of the OAuth core
// and the health checks, the middleware every request passes, and a
// graceful run loop.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/admin"
	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/metrics"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/reqid"
	"github.com/latchkey-dev/latchkey/internal/respond"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/traced"
	"github.com/latchkey-dev/latchkey/internal/tracing"
	"github.com/latchkey-dev/latchkey/internal/web"
)

// Options are what the server is built from.
type Options struct {
	Store  storage.Storage
	Keys   *secrets.Keys
	Issuer string
	Logger *slog.Logger
	// OAuth tunes the core; Store, Keys, Issuer and Logger are filled in.
	OAuth oauth.Config
	// Product and LogoURL brand the pages.
	Product, LogoURL string
	// Dialects are the vendor dialects to serve.
	Dialects []string
	// Metrics receives the request metrics and is served at /metrics; the
	// server makes its own when nil.
	Metrics *metrics.Metrics
	// TrustedProxies are the proxies whose X-Forwarded-For or Forwarded
	// names a request's source (SourceAddress); with none, the source is
	// always the socket's peer.
	TrustedProxies []netip.Prefix
	// TracerProvider, when set (tracing.Setup), traces each request, its
	// storage calls and password checks (docs/TRACING.md); nil is off and
	// adds nothing to a request. Give the store its own for commit spans.
	TracerProvider trace.TracerProvider
	// DemoCallback serves the demo client's redirect URI (the path of
	// demo.SPARedirectURI): a page that shows the code and how to exchange
	// it. Only for the demo: the path is the demo client's, not latchkey's.
	DemoCallback bool
	// SeparateAdmin serves the admin API only through AdminHandler (its own
	// listener); the main handler answers 404 under /admin/v1/.
	SeparateAdmin bool
}

// Server is latchkey's HTTP handler.
type Server struct {
	store   storage.Pinger // readiness only; the core and the pages get the full store
	log     *slog.Logger
	metrics *metrics.Metrics
	core    *oauth.Server
	pages   *web.Handler
	handler http.Handler
	tracer  trace.Tracer // nil when tracing is off
	admin   http.Handler // the admin API alone, when Options.SeparateAdmin
	shapes  dialect.Shapes
}

// New builds the server and its routes.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Store = traced.New(o.Store, o.TracerProvider) // the store itself when tracing is off
	cfg := o.OAuth
	cfg.Store, cfg.Keys, cfg.Issuer, cfg.Logger = o.Store, o.Keys, o.Issuer, o.Logger
	cfg.TracerProvider = o.TracerProvider
	core, err := oauth.New(cfg)
	if err != nil {
		return nil, err
	}
	pages, err := web.New(web.Options{Core: core, Store: o.Store, Keys: o.Keys, Logger: o.Logger, Product: o.Product,
		LogoURL: o.LogoURL, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if err := o.Metrics.CountPasswordChecks(core.PasswordChecks); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	if err := o.Metrics.CountShedLogins(core.ShedLogins); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	if err := o.Metrics.CountPasswordHashes(o.Store.CountPasswordSchemes); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s := &Server{store: o.Store, log: o.Logger, metrics: o.Metrics, core: core, pages: pages,
		tracer: tracing.Tracer(o.TracerProvider, "internal/server")}
	mux := http.NewServeMux()
	s.routes(mux)
	// The admin API goes through the Directory the CLI uses, built as the CLI builds it.
	dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: o.Store, Keys: o.Keys, Dialects: dialect.ClientDefaults(), Now: cfg.Now,
		OnPasswordCheck: cfg.OnPasswordCheck})
	if err != nil {
		return nil, err
	}
	adm, err := admin.New(admin.Options{Core: core, Directory: dir, Store: o.Store, Keys: o.Keys, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	if o.SeparateAdmin {
		amux := http.NewServeMux()
		adm.Routes(amux)
		s.admin = s.middleware(amux, o.TrustedProxies)
		mux.Handle(admin.Prefix+"/", http.NotFoundHandler())
	} else {
		adm.Routes(mux)
	}
	shapes, err := dialect.Register(mux, o.Dialects, core, pages)
	if err != nil {
		return nil, err
	}
	s.shapes = shapes
	if o.DemoCallback {
		err := pages.RouteDemoCallback(mux, web.DemoClient{ID: demo.SPAClientID, RedirectURI: demo.SPARedirectURI,
			PostLogoutRedirectURI: demo.SPAPostLogoutRedirectURI,
			Verifier:              demo.PKCEVerifier})
		if err != nil {
			return nil, err
		}
	}
	s.handler = s.middleware(mux, o.TrustedProxies)
	return s, nil
}

// middleware wraps a listener's routes in what every request passes.
func (s *Server) middleware(mux *http.ServeMux, trusted []netip.Prefix) http.Handler {
	h := s.recoverPanics(s.accessLog(securityHeaders(hsts(limitBody(refuseUnreadable(mux, s.shapes))))))
	if s.tracer != nil {
		h = traceRequests(s.tracer, h) // inside reqid, to record the request id
	}
	return SourceAddress(trusted, reqid.Middleware(h))
}

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.metrics.Handler())
	s.core.Routes(mux)
	s.pages.Routes(mux)
}

// Core is the server's OAuth core.
func (s *Server) Core() *oauth.Server { return s.core }

// AdminHandler is the admin API with the same middleware as the main
// handler, to serve on its own listener; nil unless Options.SeparateAdmin.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// ServeHTTP serves a request through the middleware.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// readyTimeout is how long /readyz waits for the database: a probe that
// gets no answer within a second is told 503 and tries again.
const readyTimeout = time.Second

// handleReady reports whether the database answers. A failure is logged
// through the core, at most once per interval with the count of failures
// (oauth.Server.StorageFailed), not once per probe.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		e := s.core.StorageFailed(r.Context(), "readiness check", err)
		w.Header().Set("Retry-After", fmt.Sprint(int64((e.RetryAfter+time.Second-1)/time.Second)))
		respond.JSON(w, e.Status, map[string]string{"status": "unavailable", "error": "database unreachable"})
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Timeouts of the HTTP server: slow clients cannot hold connections open.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 32 << 10
	// ShutdownTimeout bounds how long in-flight requests may finish after a signal.
	ShutdownTimeout = 20 * time.Second
)

// Serve serves on ln until ctx ends, then stops taking connections and
// waits up to ShutdownTimeout for in-flight requests to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error { return Serve(ctx, ln, s, s.log) }

// Serve serves h on ln with latchkey's timeouts until ctx ends, then drains
// in-flight requests for up to ShutdownTimeout.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing in-flight requests", "timeout", ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
