package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// latchkeyBin is the binary built once for the end-to-end tests of this package.
var latchkeyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "latchkey-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	latchkeyBin = filepath.Join(dir, "latchkey")
	build := exec.Command("go", "build", "-o", latchkeyBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build latchkey:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m) // says when the PostgreSQL tests were skipped
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is what one run of the binary printed and how it exited.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the built binary in dir with a clean LATCHKEY_* environment
// plus env, and returns its output. It fails the test only if the binary
// could not be started or ran over a minute.
func runCLI(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	return runCLIStdin(t, dir, env, "", args...)
}

// runCLIStdin is runCLI with text on standard input.
func runCLIStdin(t *testing.T, dir string, env []string, text string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, latchkeyBin, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, append(cleanEnv(), env...), strings.NewReader(text)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run latchkey %v: %v", args, err)
	}
	return res
}

// cleanEnv is the test's environment without LATCHKEY_* settings, so a
// developer's shell cannot change what the binary does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !bytes.HasPrefix([]byte(kv), []byte("LATCHKEY_")) {
			env = append(env, kv)
		}
	}
	return env
}
