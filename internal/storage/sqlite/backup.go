package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// Backup copies the SQLite database at path to a new file dest while other
// connections, in this process or another (a running server), keep reading
// and writing it. VACUUM INTO reads one consistent snapshot in a single read
// transaction, which in WAL mode never blocks the writer; the copy is a
// compact database file with no WAL beside it. It is written to dest+".tmp",
// checked, synced and then renamed to dest, so dest is either absent or a
// complete backup. An existing dest (or dest+".tmp") is refused, never
// overwritten.
func Backup(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: sqlite database %s: %w", path, err)
	}
	tmp := dest + ".tmp"
	for _, p := range []string{dest, tmp} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("backup: %s already exists; it is not overwritten (remove it or choose another file)", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("backup: %w", err)
		}
	}
	// Its own connection, so the backup shares nothing with a store; the
	// busy timeout waits out a writer holding a lock (a checkpoint, say).
	db, err := sql.Open("sqlite", path+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return fmt.Errorf("backup: open sqlite database %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: copy %s to %s: %w", path, tmp, err)
	}
	if err := check(ctx, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	// Checked again just before: a file that appeared meanwhile is kept.
	if _, err := os.Lstat(dest); err == nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %s appeared during the backup; it is not overwritten", dest)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: rename %s to %s: %w", tmp, dest, err)
	}
	// The rename is durable only once the directory is synced.
	if err := syncFile(filepath.Dir(dest)); err != nil {
		return err
	}
	return nil
}

// check runs SQLite's quick integrity check on the copy.
func check(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path+"?"+url.Values{"_pragma": {"query_only(1)"}}.Encode())
	if err != nil {
		return fmt.Errorf("backup: open the copy %s: %w", path, err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return fmt.Errorf("backup: check the copy %s: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("backup: the copy %s fails SQLite's integrity check: %s", path, res)
	}
	return nil
}

// syncFile flushes a file (or a directory's entries) to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: sync %s: %w", path, err)
	}
	return nil
}
