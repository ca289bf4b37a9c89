package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeTrustedProxiesRefused: a bad --trusted-proxies or
// LATCHKEY_TRUSTED_PROXIES entry stops serve with one line naming it,
// before anything listens.
func TestServeTrustedProxiesRefused(t *testing.T) {
	dir := t.TempDir()
	env := []string{"LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret"), "LATCHKEY_DB=sqlite:" + filepath.Join(dir, "lk.db")}
	for name, run := range map[string]func() cliResult{
		"flag": func() cliResult {
			return runCLI(t, dir, env, "serve", "--addr", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/8,10.0.0.0/40")
		},
		"env": func() cliResult {
			return runCLI(t, dir, append(env, "LATCHKEY_TRUSTED_PROXIES=10.0.0.0/40"), "serve", "--addr", "127.0.0.1:0")
		},
	} {
		res := run()
		lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
		if res.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], `trusted-proxies: "10.0.0.0/40" is not a CIDR`) {
			t.Fatalf("%s: exit %d, stderr %q", name, res.code, res.stderr)
		}
	}
}
