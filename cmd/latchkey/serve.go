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

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/gateway"
	"github.com/latchkey-dev/latchkey/internal/janitor"
	"github.com/latchkey-dev/latchkey/internal/metrics"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/server"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/backend"
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
			tuneGC(os.Getenv)
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
			return runServe(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.String("addr", d.Addr, "HOST:PORT to listen on; port 0 picks a free one (env LATCHKEY_ADDR)")
	f.String("issuer", "", "public base URL; default http://ADDR (env LATCHKEY_ISSUER)")
	f.Bool("demo", false, "load the demo data if missing and print example requests (env LATCHKEY_DEMO)")
	f.String("audit-retention", d.AuditRetention, "how long audit events are kept: 90d, 2160h, or 0 for ever (env LATCHKEY_AUDIT_RETENTION)")
	f.String("product-name", "", "product name shown on the login pages (env LATCHKEY_PRODUCT_NAME)")
	f.String("logo-url", "", "logo shown on the login pages (env LATCHKEY_LOGO_URL)")
	f.StringSlice("dialects", nil, "vendor dialects to serve: "+strings.Join(dialect.Names(), ", ")+" (env LATCHKEY_DIALECTS)")
	f.StringSlice("trusted-proxies", nil, "CIDRs of proxies whose X-Forwarded-For or Forwarded names the client, for throttling (env LATCHKEY_TRUSTED_PROXIES)")
	return cmd
}

// runServe serves until ctx ends (SIGINT or SIGTERM), then lets in-flight
// requests finish, stops the janitor and closes the database. The port is
// bound and the store opened before anything is logged at info level, so a
// start that fails there prints its one error line and nothing else.
func runServe(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	// Bind first: a busy port fails before any migration runs.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()              // the server closes it too; closing twice is harmless
	cfg.Addr = ln.Addr().String() // the real port when 0 was asked for
	log := newLogger(cfg, os.Stderr)
	m := metrics.New()
	st, keys, err := openStoreWith(ctx, cfg, log, backend.Options{Migrate: true, OnCommit: m.ObserveCommit})
	if err != nil {
		return err
	}
	err = serveStore(ctx, cfg, ln, st, keys, m, log, stdout)
	if cerr := st.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// serveStore loads the demo data if asked, then serves on ln until ctx ends.
// The caller closes ln and st.
func serveStore(ctx context.Context, cfg config.Config, ln net.Listener, st storage.Storage, keys *secrets.Keys,
	m *metrics.Metrics, log *slog.Logger, stdout io.Writer) error {
	if cfg.Demo {
		if err := demo.Load(ctx, st, keys); err != nil {
			return err
		}
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
		TrustedProxies: proxies})
	if err != nil {
		return err
	}
	base := "http://" + cfg.Addr
	fmt.Fprintf(stdout, "latchkey listening on %s (issuer %s)\n", base, cfg.IssuerURL())
	if cfg.Demo {
		demo.PrintInstructions(stdout, base, dialects)
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
	err = srv.Serve(ctx, ln)
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
			st, _, err := openStore(cmd.Context(), cfg, newLogger(cfg, os.Stderr), true)
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
