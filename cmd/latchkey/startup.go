package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/backend"
)

// logNewSecret says where the secret file a command had to create is.
func logNewSecret(log *slog.Logger, file string) {
	path, err := filepath.Abs(file)
	if err != nil {
		path = file
	}
	log.Info("created a new system secret file: back it up, and give every node the same secret (LATCHKEY_SECRET or --secret-file); without it this database's client secrets and signing keys are lost", "file", path)
}

// removeSecretFile removes the secret file this process created, unless it
// no longer holds secret (another process replaced it meanwhile).
func removeSecretFile(path string, secret []byte) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if s, err := secrets.DecodeSystemSecret(string(data)); err == nil && bytes.Equal(s, secret) {
		os.Remove(path)
	}
}

// openMigrateStore opens the database for migrate. Migrations need no
// system secret, so migrate creates no secret file: one is made by the first
// serve (or admin command). A configured secret is still checked against
// the database's fingerprint, as every other command does.
func openMigrateStore(ctx context.Context, cfg config.Config, log *slog.Logger) (storage.Storage, error) {
	_, _, err := cfg.SystemSecret(false)
	if err == nil {
		st, _, err := openStoreWith(ctx, cfg, log, backend.Options{Migrate: true})
		return st, err
	}
	if cfg.Secret != "" || !errors.Is(err, os.ErrNotExist) {
		return nil, err // a secret that is configured but wrong is still an error
	}
	db, _ := config.ParseDB(cfg.DB) // validated by config
	return backend.Open(ctx, db.Driver, db.Source(), backend.Options{Migrate: true, Logger: log})
}

// ensureSigningKeys creates the first signing key of each algorithm before
// serve accepts a request, so the keys are in the JWKS before any token is
// signed with them and resource servers can fetch them ahead.
func ensureSigningKeys(ctx context.Context, st storage.Storage, keys *secrets.Keys, log *slog.Logger) error {
	kr, err := signing.New(st, keys, nil)
	if err != nil {
		return err
	}
	made, err := kr.Ensure(ctx)
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	for _, k := range made {
		log.Info("created the first signing key", "alg", signing.KeyAlgorithm(k), "kid", k.ID)
	}
	return nil
}
