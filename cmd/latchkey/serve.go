package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/gateway"
	"github.com/latchkey-dev/latchkey/internal/janitor"
	"github.com/latchkey-dev/latchkey/internal/metrics"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/server"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/backend"
	"github.com/latchkey-dev/latchkey/internal/tracing"
)

func newServeCmd() *cobra.Command {
	d := config.Defaults()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authorization server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			onCheck := tuneGC(os.Getenv)
			// LATCHKEY_CPUPROFILE=FILE profiles the whole run (docs/PERFORMANCE.md).
			if path := os.Getenv("LATCHKEY_CPUPROFILE"); path != "" {
				f, err := os.Create(path)
				if err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			return runServe(cmd.Context(), cfg, cmd.OutOrStdout(), onCheck)
		},
	}
	f := cmd.Flags()
	f.String("addr", d.Addr, "HOST:PORT to listen on; port 0 picks a free one (env LATCHKEY_ADDR)")
	f.String("issuer", "", "public base URL; default http://ADDR, or https://ADDR with --tls-cert (env LATCHKEY_ISSUER)")
	f.Bool("demo", false, "load the demo data if missing and print example requests (env LATCHKEY_DEMO)")
	f.String("audit-retention", d.AuditRetention, "how long audit events are kept: 90d, 2160h, or 0 for ever (env LATCHKEY_AUDIT_RETENTION)")
	f.Bool("audit-token-issued", d.AuditTokenIssued, "store a token.issued audit event with every token issued (env LATCHKEY_AUDIT_TOKEN_ISSUED)")
	f.String("product-name", "", "product name shown on the login pages (env LATCHKEY_PRODUCT_NAME)")
	f.String("logo-url", "", "logo shown on the login pages (env LATCHKEY_LOGO_URL)")
	f.StringSlice("dialects", nil, "vendor dialects to serve: "+strings.Join(dialect.Names(), ", ")+" (env LATCHKEY_DIALECTS)")
	f.StringSlice("trusted-proxies", nil, "CIDRs of proxies whose X-Forwarded-For or Forwarded names the client, for throttling (env LATCHKEY_TRUSTED_PROXIES)")
	f.String("otlp-endpoint", "", "export traces over OTLP/HTTP to this URL, e.g. http://collector:4318; off when empty (env LATCHKEY_OTLP_ENDPOINT)")
	f.String("trace-sample-ratio", d.TraceSampleRatio, "share of new traces recorded, 0 to 1 (env LATCHKEY_TRACE_SAMPLE_RATIO)")
	f.String("tls-cert", "", "PEM certificate chain to serve HTTPS with, reloaded when it changes; needs --tls-key (env LATCHKEY_TLS_CERT)")
	f.String("tls-key", "", "PEM private key of --tls-cert (env LATCHKEY_TLS_KEY)")
	f.String("admin-addr", "", "HOST:PORT to serve the admin API on, instead of on --addr (env LATCHKEY_ADMIN_ADDR)")
	return cmd
}

// runServe serves until ctx ends (SIGINT or SIGTERM), then lets in-flight
// requests finish, stops the janitor and closes the database. The port is
// bound and the store opened before anything is logged at info level, so a
// start that fails there prints its one error line and nothing else.
// onCheck, when not nil, is told when password checks run (tuneGC).
func runServe(ctx context.Context, cfg config.Config, stdout io.Writer, onCheck func(running bool)) error {
	// Bind first: a busy port fails before any migration runs.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()              // the server closes it too; closing twice is harmless
	cfg.Addr = ln.Addr().String() // the real port when 0 was asked for
	adminLn, err := listenAdmin(&cfg)
	if err != nil {
		return err
	}
	if adminLn != nil {
		defer adminLn.Close()
	}
	log := newLogger(cfg, os.Stderr)
	if ln, adminLn, err = withTLS(cfg, log, ln, adminLn); err != nil {
		return err
	}
	tp, stopTracing, err := tracing.Setup(ctx, tracing.Config{Endpoint: cfg.OTLPEndpoint, SampleRatio: cfg.TraceSampleRatioValue(), Logger: log})
	if err != nil {
		return err
	}
	defer func() { // last, after the store's final commits
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(fctx); err != nil {
			log.Warn("spans not exported at exit", "err", err)
		}
	}()
	m := metrics.New()
	st, keys, err := openStoreWith(ctx, cfg, log, backend.Options{Migrate: true, OnCommit: m.ObserveCommit, TracerProvider: tp})
	if err != nil {
		return err
	}
	err = serveStore(ctx, cfg, ln, adminLn, st, keys, m, tp, log, stdout, onCheck)
	if cerr := st.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// serveStore loads the demo data if asked, then serves on ln (and the admin
// API on adminLn, if not nil) until ctx ends. The caller closes ln, adminLn and st.
func serveStore(ctx context.Context, cfg config.Config, ln, adminLn net.Listener, st storage.Storage, keys *secrets.Keys,
	m *metrics.Metrics, tp trace.TracerProvider, log *slog.Logger, stdout io.Writer, onCheck func(running bool)) error {
	if cfg.Demo {
		if err := demo.Load(ctx, st, keys); err != nil {
			return err
		}
	}
	if err := ensureSigningKeys(ctx, st, keys, log); err != nil {
		return err
	}
	dialects := cfg.Dialects
	if cfg.Demo && len(dialects) == 0 {
		dialects = dialect.Names() // the demo shows every dialect
	}
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{Store: st, Keys: keys, Issuer: cfg.IssuerURL(), Logger: log,
		Product: cfg.Product, LogoURL: cfg.LogoURL, Dialects: dialects, Metrics: m, DemoCallback: cfg.Demo,
		TrustedProxies: proxies, OAuth: oauth.Config{NoTokenIssuedEvents: !cfg.AuditTokenIssued, OnPasswordCheck: onCheck},
		SeparateAdmin: adminLn != nil, TracerProvider: tp})
	if err != nil {
		return err
	}
	base := cfg.Scheme() + "://" + cfg.Addr
	fmt.Fprintf(stdout, "latchkey listening on %s (issuer %s)\n", base, cfg.IssuerURL())
	adminBase := ""
	if adminLn != nil {
		adminBase = cfg.Scheme() + "://" + cfg.AdminAddr
		fmt.Fprintf(stdout, "admin API listening on %s\n", adminBase)
	}
	if cfg.Demo {
		demo.PrintInstructions(stdout, base, adminBase, dialects)
	}
	log.Info("serving", "addr", cfg.Addr, "issuer", cfg.IssuerURL(), "db", dbKind(cfg), "dialects", strings.Join(dialects, ","))

	// The janitor stops with the server, before the store is closed under it.
	jctx, stopJanitor := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { janitor.Run(jctx, st, 10*time.Minute, time.Hour, cfg.AuditRetentionDuration(), log) })
	gwDone, err := startGateway(ctx, stdout, cfg.Gateway, gateway.CoreVerifier{Core: srv.Core()}, log)
	if err != nil {
		ln.Close()
		stopJanitor()
		wg.Wait()
		return err
	}
	err = serveListeners(ctx, srv, ln, adminLn, log)
	if gerr := <-gwDone; gerr != nil && err == nil {
		err = fmt.Errorf("gateway: %w", gerr)
	}
	stopJanitor()
	wg.Wait()
	return err
}

// dbKind names the database without its credentials.
func dbKind(cfg config.Config) string {
	db, _ := config.ParseDB(cfg.DB)
	if db.Driver == "sqlite" {
		return "sqlite:" + db.Path
	}
	return "postgres"
}

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database schema migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			st, err := openMigrateStore(cmd.Context(), cfg, newLogger(cfg, os.Stderr))
			if err != nil {
				return err
			}
			if err := st.Close(); err != nil {
				return fmt.Errorf("close database: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database schema is up to date (%s)\n", dbKind(cfg))
			return nil
		},
	}
}
