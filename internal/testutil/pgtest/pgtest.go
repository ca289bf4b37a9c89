// Package pgtest gives each test its own empty PostgreSQL schema on the
// server named by LATCHKEY_TEST_POSTGRES_DSN, so parallel runs never collide.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvVar names the variable that enables PostgreSQL tests.
const EnvVar = "LATCHKEY_TEST_POSTGRES_DSN"

// exampleDSN is the value the skip messages suggest.
const exampleDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// skipped counts the tests of this test binary that DSN skipped.
var skipped atomic.Int64

// DSN returns a postgres:// URL whose search_path is a fresh schema that is
// dropped when the test ends. Without EnvVar the test is skipped.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		skipped.Add(1)
		t.Skipf("PostgreSQL tests are off: set %s=%s to run them", EnvVar, exampleDSN)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "lktest_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvVar, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop test schema: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Run runs m's tests and returns their exit code for os.Exit. When some of
// them skipped for want of EnvVar, it then prints one line saying so: a
// skipped test is otherwise silent in plain `go test ./...`, and a green run
// would look as if PostgreSQL had been tested. Every package with PostgreSQL
// tests calls it from its TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if n := skipped.Load(); n > 0 {
		fmt.Fprintf(noticeWriter(), "latchkey: %d PostgreSQL tests skipped in %s; set %s=%s to run them\n",
			n, testedPackage(), EnvVar, exampleDSN)
	}
	return code
}

// testedPackage is the import path of the package under test.
func testedPackage() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" {
		return strings.TrimSuffix(bi.Path, ".test") // a test binary's path is the package's plus ".test"
	}
	return "this package"
}

// noticeWriter is where the skip line reaches the person running go test.
// go test keeps a passing package's stdout and stderr to itself unless -v
// is given (both go to one buffer that it drops), so on Linux the line goes
// to the stderr of the go command that started this binary instead; with
// -v or -json, elsewhere, or when the parent is not go, to os.Stderr.
func noticeWriter() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	ppid := strconv.Itoa(os.Getppid())
	comm, err := os.ReadFile("/proc/" + ppid + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return os.Stderr
	}
	// O_APPEND: when go's stderr is a file, write at its end, not over it.
	f, err := os.OpenFile("/proc/"+ppid+"/fd/2", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return os.Stderr
	}
	if a, b := statOf(f), statOf(os.Stderr); a != nil && b != nil && os.SameFile(a, b) {
		f.Close()
		return os.Stderr
	}
	return f // left open: the process exits right after writing
}

func statOf(f *os.File) os.FileInfo {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	return fi
}
