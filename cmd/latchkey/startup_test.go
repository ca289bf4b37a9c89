package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMigrateCreatesNoSecretFile: migrations need no system secret, so
// migrate on a new database leaves no secret file behind, and a serve
// after it creates the secret and starts.
func TestMigrateCreatesNoSecretFile(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "latchkey.secret") // the default, in the working directory
	res := runCLI(t, dir, []string{"LATCHKEY_DB=sqlite:lk.db"}, "migrate")
	if res.code != 0 || !strings.Contains(res.stdout, "up to date") {
		t.Fatalf("migrate: %+v", res)
	}
	if _, err := os.Stat(secretFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("migrate left a secret file: %v", err)
	}
	base, stop := startServe(t, dir, "--db", "sqlite:lk.db")
	waitReady(t, base)
	if run := stop(syscall.SIGTERM); run.code != 0 {
		t.Fatalf("serve after migrate: %+v", run)
	}
	if _, err := os.Stat(secretFile); err != nil {
		t.Fatalf("serve made no secret file: %v", err)
	}
	// With the secret now there, migrate still checks it against the database.
	res = runCLI(t, dir, []string{"LATCHKEY_DB=sqlite:lk.db", "LATCHKEY_SECRET=" + strings.Repeat("w", 32)}, "migrate")
	if res.code == 0 || !strings.Contains(res.stderr, "different system secret") {
		t.Fatalf("migrate with the wrong secret: %+v", res)
	}
}

// TestFailedServeLeavesNoSecretFile: a serve that cannot start leaves no
// new secret file behind, whatever stopped it.
func TestFailedServeLeavesNoSecretFile(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database\n", 512)), 0o600)
	// A database set up with another secret refuses the one serve would
	// make (migrate records no fingerprint without a secret; with one it does).
	other := filepath.Join(dir, "other.db")
	if res := runCLI(t, dir, []string{"LATCHKEY_SECRET=" + strings.Repeat("o", 32), "LATCHKEY_DB=sqlite:" + other}, "migrate"); res.code != 0 {
		t.Fatalf("migrate with another secret: %+v", res)
	}
	if res := runCLI(t, dir, []string{"LATCHKEY_SECRET=" + strings.Repeat("o", 32), "LATCHKEY_DB=sqlite:" + other}, "merchant", "list"); res.code != 0 {
		t.Fatalf("merchant list with another secret: %+v", res)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"busy port", []string{"--addr", busy.Addr().String(), "--db", "sqlite:" + filepath.Join(dir, "busy.db")}, "listen on"},
		{"unreachable database", []string{"--addr", "127.0.0.1:0", "--db", "postgres://postgres@127.0.0.1:1/nope?sslmode=disable"}, "connect to postgres database"},
		{"failed migration", []string{"--addr", "127.0.0.1:0", "--db", "sqlite:" + garbage}, "not a database"},
		{"another secret's database", []string{"--addr", "127.0.0.1:0", "--db", "sqlite:" + other}, "different system secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secretFile := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".secret")
			res := runCLI(t, dir, []string{"LATCHKEY_SECRET_FILE=" + secretFile}, append([]string{"serve"}, tc.args...)...)
			if res.code == 0 || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q: want a failure naming %q", res.code, res.stderr, tc.want)
			}
			if _, err := os.Stat(secretFile); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the failed start left a secret file: %v", err)
			}
		})
	}
	// Every command that opens the database does the same (import, admin…).
	secretFile := filepath.Join(dir, "list.secret")
	res := runCLI(t, dir, []string{"LATCHKEY_SECRET_FILE=" + secretFile, "LATCHKEY_DB=sqlite:" + other}, "merchant", "list")
	if res.code == 0 || !strings.Contains(res.stderr, "different system secret") {
		t.Fatalf("merchant list on another secret's database: exit %d, %q", res.code, res.stderr)
	}
	if _, err := os.Stat(secretFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed merchant list left a secret file: %v", err)
	}
}

// TestServeFirstStart: a first serve on a new database creates the secret
// file (said at info level, with its path and a call to back it up) and the
// first signing key of each algorithm, published before any token is asked for.
func TestServeFirstStart(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "latchkey.secret")
	base, stop := startServe(t, dir, "--db", "sqlite:lk.db")
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
		} `json:"keys"`
	}
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	algs := map[string]int{}
	for _, k := range set.Keys {
		if k.Kid == "" || k.Use != "sig" {
			t.Fatalf("JWKS key %+v", k)
		}
		algs[k.Alg]++
	}
	if len(set.Keys) != 2 || algs["RS256"] != 1 || algs["ES256"] != 1 {
		t.Fatalf("JWKS before any token has %+v; want one RS256 and one ES256 key", set.Keys)
	}
	run := stop(syscall.SIGTERM)
	if run.code != 0 {
		t.Fatalf("serve: %+v", run)
	}
	fi, err := os.Stat(secretFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	var said string
	for _, line := range strings.Split(run.stderr, "\n") {
		if strings.Contains(line, "new system secret") {
			said = line
		}
	}
	if !strings.Contains(said, "level=INFO") || !strings.Contains(said, "back it up") || !strings.Contains(said, "file="+secretFile) {
		t.Fatalf("serve did not log the new secret file at info level with its path:\n%s", run.stderr)
	}
	for _, alg := range []string{"RS256", "ES256"} {
		if !strings.Contains(run.stderr, "created the first signing key") || !strings.Contains(run.stderr, "alg="+alg) {
			t.Fatalf("serve did not log the first %s key:\n%s", alg, run.stderr)
		}
	}

	// A second start makes neither a secret nor keys, and says nothing of them.
	base, stop = startServe(t, dir, "--db", "sqlite:lk.db")
	waitReady(t, base)
	run = stop(syscall.SIGTERM)
	if run.code != 0 || strings.Contains(run.stderr, "new system secret") || strings.Contains(run.stderr, "first signing key") {
		t.Fatalf("second serve: %+v", run)
	}
}
