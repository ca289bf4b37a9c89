package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// legacyVector is one hash of internal/secrets/testdata, made by an
// independent implementation (hash-wasm, bcryptjs, Python's hashlib).
type legacyVector struct {
	Scheme   string `json:"scheme"`
	Hash     string `json:"hash"`
	Password string `json:"password"`
	Weak     bool   `json:"weak"`
}

// TestImportedHashesLogIn is issue 20's path end to end: every vector is
// imported with `latchkey import accounts` into a running demo server's
// database, refused with a wrong password, accepted with the right one
// (twice: the second time against the Argon2id hash it was upgraded to),
// and its upgrade is in the audit log.
func TestImportedHashesLogIn(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "internal", "secrets", "testdata", "legacy_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []legacyVector
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base, stop := startServe(t, dir, "--demo")
	defer stop(syscall.SIGTERM)

	var rows strings.Builder
	var weak []string
	for i, v := range vectors {
		row, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("imp-%d", i), "kind": "guest", "merchant_id": "777777",
			"username": fmt.Sprintf("imported-%d", i), "password_hash": v.Hash})
		rows.Write(append(row, '\n'))
		if v.Weak && !slices.Contains(weak, v.Scheme) {
			weak = append(weak, v.Scheme)
		}
	}
	file := filepath.Join(dir, "guests.jsonl")
	if err := os.WriteFile(file, []byte(rows.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"import", "accounts", file}
	for _, s := range weak {
		args = append(args, "--allow-weak", s)
	}
	if res := runCLI(t, dir, nil, args...); res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("created %d", len(vectors))) {
		t.Fatalf("import: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}

	login := func(user, password string) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}
		res := postBasic(t, base+"/oauth2/token", form, "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK", "654secretnx4")
		var body map[string]any
		decodeJSON(t, res, &body)
		return res.StatusCode, body
	}
	upgraded := 0
	for i, v := range vectors {
		user := fmt.Sprintf("imported-%d", i)
		// Wrong in the first byte: bcrypt reads only the first 72.
		if status, body := login(user, "X"+string([]rune(v.Password)[1:])); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("%s (%s): wrong password answered %d %v", v.Scheme, v.Hash[:12], status, body)
		}
		for n := range 2 {
			if status, body := login(user, v.Password); status != http.StatusOK || body["access_token"] == nil {
				t.Errorf("%s (%s): right password, login %d, answered %d %v", v.Scheme, v.Hash[:12], n+1, status, body)
			}
		}
		if v.Scheme != "argon2id" {
			upgraded++
		}
	}
	res := runCLI(t, dir, nil, "audit", "export", "--type", "account.password_upgraded")
	if res.code != 0 {
		t.Fatalf("audit export: %d %s", res.code, res.stderr)
	}
	if got := strings.Count(res.stdout, `"type":"account.password_upgraded"`); got != upgraded {
		t.Fatalf("%d password upgrades in the audit log, want %d (one per legacy hash):\n%s", got, upgraded, res.stdout)
	}
	for _, v := range vectors {
		if strings.Contains(res.stdout, v.Hash) || strings.Contains(res.stdout, v.Password) {
			t.Fatal("an audit event holds a hash or a password")
		}
	}
}
