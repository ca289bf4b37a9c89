package sqlite_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// TestBackup: the copy opens as a current database with the rows of the
// original, and no temporary file is left beside it.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, dest := filepath.Join(dir, "lk.db"), filepath.Join(dir, "copy.db")
	opts := sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)}
	st, err := sqlite.Open(ctx, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateOrganization(ctx, storage.Organization{ID: "org-backup", Name: "Backup"}); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.Backup(ctx, src, dest); err != nil { // the store stays open, as a server's would
		t.Fatalf("Backup: %v", err)
	}
	if _, err := os.Stat(dest + ".tmp"); err == nil {
		t.Fatalf("%s.tmp was left behind", dest)
	}
	opts.Migrate = false // a copy of a current database needs no migration
	cp, err := sqlite.Open(ctx, dest, opts)
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer cp.Close()
	if org, err := cp.GetOrganization(ctx, "org-backup"); err != nil || org.Name != "Backup" {
		t.Fatalf("the copy lacks the organization: %+v, %v", org, err)
	}
}

// TestBackupRefuses: an existing FILE or FILE.tmp, a missing database and
// a missing directory are refused, and leave every file as it was.
func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "lk.db")
	st, err := sqlite.Open(ctx, src, sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	write := func(path string) {
		t.Helper()
		if err := os.WriteFile(path, []byte("keep me\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kept := func(path string) {
		t.Helper()
		if b, err := os.ReadFile(path); err != nil || string(b) != "keep me\n" {
			t.Errorf("%s was changed: %q, %v", path, b, err)
		}
	}
	absent := func(path string) {
		t.Helper()
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("%s was created", path)
		}
	}

	existing := filepath.Join(dir, "existing.db")
	write(existing)
	if err := sqlite.Backup(ctx, src, existing); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Backup over an existing file: %v, want already exists", err)
	}
	kept(existing)
	absent(existing + ".tmp")

	leftover := filepath.Join(dir, "leftover.db")
	write(leftover + ".tmp") // an earlier backup that was killed
	if err := sqlite.Backup(ctx, src, leftover); err == nil || !strings.Contains(err.Error(), leftover+".tmp already exists") {
		t.Errorf("Backup beside a leftover .tmp: %v, want it named", err)
	}
	kept(leftover + ".tmp")
	absent(leftover)

	missing := filepath.Join(dir, "missing.db")
	if err := sqlite.Backup(ctx, missing, filepath.Join(dir, "b1.db")); err == nil {
		t.Error("Backup of a missing database succeeded")
	}
	absent(missing) // not created by opening it
	absent(filepath.Join(dir, "b1.db"))

	noDir := filepath.Join(dir, "no-such-dir", "b2.db")
	if err := sqlite.Backup(ctx, src, noDir); err == nil {
		t.Error("Backup into a missing directory succeeded")
	}
	absent(noDir + ".tmp")
}
