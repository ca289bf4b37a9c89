package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/secrets"
)

// TestSecretGenerate: the command a too-short secret's error names exists,
// prints a fresh secret the loader accepts each time, and writes no file.
func TestSecretGenerate(t *testing.T) {
	_, err := secrets.DecodeSystemSecret("short")
	m := regexp.MustCompile("`latchkey ([^`]+)`").FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("the short-secret error names no command: %v", err)
	}
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 2 {
		res := runCLI(t, dir, nil, strings.Fields(m[1])...)
		s := strings.TrimSpace(res.stdout)
		if res.code != 0 || res.stderr != "" || strings.Count(res.stdout, "\n") != 1 {
			t.Fatalf("latchkey %s: %+v", m[1], res)
		}
		if b, err := secrets.DecodeSystemSecret(s); err != nil || len(b) < secrets.MinSystemSecret {
			t.Fatalf("printed secret %q is not accepted: %d bytes, %v", s, len(b), err)
		}
		if seen[s] {
			t.Fatalf("printed the same secret twice: %q", s)
		}
		seen[s] = true
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("secret generate wrote %v", files)
	}
}
