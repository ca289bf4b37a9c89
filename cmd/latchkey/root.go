package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/reqid"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/backend"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "latchkey",
		Short:         "An OAuth 2.0 authorization server for commerce platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	d := config.Defaults()
	pf := root.PersistentFlags()
	pf.String("config", "", "YAML config file (env LATCHKEY_CONFIG)")
	pf.String("db", d.DB, "database: sqlite:PATH or postgres://… (env LATCHKEY_DB)")
	pf.String("secret-file", d.SecretFile, "file holding the system secret (env LATCHKEY_SECRET_FILE, or set LATCHKEY_SECRET); if missing, serve creates it for a new database and removes it again if the start fails, and migrate never creates it")
	pf.String("log-level", d.LogLevel, "debug, info, warn or error (env LATCHKEY_LOG_LEVEL)")
	pf.String("log-format", d.LogFormat, "text or json (env LATCHKEY_LOG_FORMAT)")
	root.AddCommand(newServeCmd(), newMigrateCmd(), newGatewayCmd(), newBenchCmd(), newBaselineCmd())
	root.AddCommand(newAdminCmds()...)
	root.AddCommand(newAuditCmd(), newBackupCmd(), newImportCmd())
	root.AddCommand(newVersionCmd(), newHealthcheckCmd(), newSecretCmd())
	return root
}

// loadConfig reads the configuration for cmd: its flags, the environment and the config file.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	return config.Load(path, os.Getenv, cmd.Flags())
}

// newLogger returns the structured logger the configuration asks for, writing to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(reqid.Handler(h)) // every line of a request carries its id
}

// openStore loads the system secret and opens the database. migrate applies
// pending schema migrations; without it an out-of-date schema is an error.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, migrate bool) (storage.Storage, *secrets.Keys, error) {
	return openStoreWith(ctx, cfg, log, backend.Options{Migrate: migrate})
}

// openStoreWith is openStore with more storage options (metrics hooks).
// A secret file it had to create is removed again when the store does not
// open (unreachable database, failed migration, another secret's
// fingerprint): the database is then not bound to the new secret, and a
// file left behind would be mistaken for the deployment's secret. Once the
// store is open the database has recorded the secret's fingerprint, so the
// file stays whatever happens next.
func openStoreWith(ctx context.Context, cfg config.Config, log *slog.Logger, opts backend.Options) (storage.Storage, *secrets.Keys, error) {
	secret, created, err := cfg.SystemSecret(true)
	if err != nil {
		return nil, nil, err
	}
	keys, err := secrets.NewKeys(secret)
	if err == nil {
		db, _ := config.ParseDB(cfg.DB) // validated by config
		opts.Logger, opts.SecretFingerprint = log, keys.Fingerprint()
		var st storage.Storage
		if st, err = backend.Open(ctx, db.Driver, db.Source(), opts); err == nil {
			if created { // said only now, so a failed start prints one line
				logNewSecret(log, cfg.SecretFile)
			}
			return st, keys, nil
		}
	}
	if created {
		removeSecretFile(cfg.SecretFile, secret)
	}
	return nil, nil, err
}
