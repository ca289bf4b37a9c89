package main

import (
	"context"
	"encoding/csv"
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

	"github.com/latchkey-dev/latchkey/internal/storage/backend"
)

// legacyVector is one hash of internal/secrets/testdata, made by an
// independent implementation (hash-wasm, bcryptjs, Python's hashlib).
// Salted SHA vectors also carry the digest as the old system stores it:
// hex, with the salt and its order beside it.
type legacyVector struct {
	Scheme   string `json:"scheme"`
	Hash     string `json:"hash"`
	Password string `json:"password"`
	Weak     bool   `json:"weak"`
	Salted   *struct {
		Alg   string `json:"alg"`   // sha256 or sha512
		Salt  string `json:"salt"`  // as text
		Order string `json:"order"` // sp: digest of salt+password; ps: of password+salt
		Hex   string `json:"hex"`
	} `json:"salted"`
}

// importedAccount is one account the test imports and then logs in as.
type importedAccount struct {
	id, user, how string // how: the vector's hash and the form it was imported in
	v             legacyVector
}

// TestImportedHashesLogIn is issue 20's path end to end: every vector is
// imported with `latchkey import accounts` into a running demo server's
// database — each in its stored form in password_hash, and each salted SHA
// vector also as its hex digest with the password_salt, password_salt_order
// and password_scheme columns, from JSON Lines and from CSV — then refused
// with a wrong password, accepted with the right one (twice: the second
// time against the Argon2id hash it was upgraded to), its upgrade is in
// the audit log, and, once the server stopped, the database holds an
// Argon2id hash for it and not the imported one.
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
	stopped := false
	defer func() {
		if !stopped {
			stop(syscall.SIGTERM)
		}
	}()

	var accounts []importedAccount
	add := func(id, how string, v legacyVector) {
		accounts = append(accounts, importedAccount{id: id, user: "imported-" + id, how: how, v: v})
	}
	var rows strings.Builder
	jsonRow := func(fields map[string]any) {
		row, _ := json.Marshal(fields)
		rows.Write(append(row, '\n'))
	}
	var csvText strings.Builder
	csvw := csv.NewWriter(&csvText)
	csvw.Write([]string{"id", "kind", "merchant_id", "username", "password_hash", "password_salt", "password_salt_order", "password_scheme"})
	var weak, saltedAlgs []string
	orders := map[string]string{"sp": "salt_first", "ps": "password_first"}
	for i, v := range vectors {
		id := fmt.Sprintf("%d", i)
		add(id, v.Hash[:12], v)
		jsonRow(map[string]any{"id": id, "kind": "guest", "merchant_id": "777777", "username": "imported-" + id, "password_hash": v.Hash})
		if v.Weak && !slices.Contains(weak, v.Scheme) {
			weak = append(weak, v.Scheme)
		}
		if s := v.Salted; s != nil {
			if orders[s.Order] == "" || v.Scheme != s.Alg+"-salted" {
				t.Fatalf("vector %d: salted %+v does not match scheme %s", i, *s, v.Scheme)
			}
			if !slices.Contains(saltedAlgs, s.Alg) {
				saltedAlgs = append(saltedAlgs, s.Alg)
			}
			jid, cid := "jsonl-columns-"+id, "csv-columns-"+id
			add(jid, v.Scheme+" hex digest, JSON Lines columns, "+s.Order, v)
			jsonRow(map[string]any{"id": jid, "kind": "guest", "merchant_id": "777777", "username": "imported-" + jid,
				"password_hash": s.Hex, "password_salt": s.Salt, "password_salt_order": orders[s.Order], "password_scheme": v.Scheme})
			add(cid, v.Scheme+" hex digest, CSV columns, "+s.Order, v)
			csvw.Write([]string{cid, "guest", "777777", "imported-" + cid, s.Hex, s.Salt, orders[s.Order], v.Scheme})
		}
	}
	csvw.Flush()
	if slices.Sort(saltedAlgs); !slices.Equal(saltedAlgs, []string{"sha256", "sha512"}) {
		t.Fatalf("the vectors' salted digests cover %v, want sha256 and sha512", saltedAlgs)
	}
	imports := []struct{ name, text string }{{"guests.jsonl", rows.String()}, {"guests.csv", csvText.String()}}
	total := 0
	for _, imp := range imports {
		file := filepath.Join(dir, imp.name)
		if err := os.WriteFile(file, []byte(imp.text), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"import", "accounts", file}
		for _, s := range weak {
			args = append(args, "--allow-weak", s)
		}
		n := strings.Count(imp.text, "\n")
		if strings.HasSuffix(imp.name, ".csv") {
			n-- // the header
		}
		total += n
		if res := runCLI(t, dir, nil, args...); res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("created %d, ", n)) {
			t.Fatalf("import %s: exit %d: %s%s", imp.name, res.code, res.stdout, res.stderr)
		}
	}
	if total != len(accounts) {
		t.Fatalf("imported %d rows for %d accounts", total, len(accounts))
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
	for _, a := range accounts {
		// Wrong in the first byte: bcrypt reads only the first 72.
		if status, body := login(a.user, "X"+string([]rune(a.v.Password)[1:])); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("%s (%s): wrong password answered %d %v", a.v.Scheme, a.how, status, body)
		}
		for n := range 2 {
			if status, body := login(a.user, a.v.Password); status != http.StatusOK || body["access_token"] == nil {
				t.Errorf("%s (%s): right password, login %d, answered %d %v", a.v.Scheme, a.how, n+1, status, body)
			}
		}
		if a.v.Scheme != "argon2id" {
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
		if strings.Contains(res.stdout, v.Hash) || strings.Contains(res.stdout, v.Password) || v.Salted != nil && strings.Contains(res.stdout, v.Salted.Hex) {
			t.Fatal("an audit event holds a hash or a password")
		}
	}

	// The database now holds latchkey's own hash of each account, not the
	// imported one (a foreign Argon2id hash too: its parameters were not
	// latchkey's). A salted SHA row imported through the columns was stored
	// as the vector's $…-salted$ form, so that is the hash that must be gone.
	stopped = true
	if run := stop(syscall.SIGTERM); run.code != 0 {
		t.Fatalf("serve exited %d: %s", run.code, run.stderr)
	}
	st, err := backend.Open(context.Background(), "sqlite", filepath.Join(dir, "latchkey.db"), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, a := range accounts {
		got, err := st.GetAccount(context.Background(), a.id)
		if err != nil {
			t.Errorf("%s (%s): %v", a.v.Scheme, a.how, err)
			continue
		}
		if !strings.HasPrefix(got.PasswordHash, "$argon2id$") || got.PasswordHash == a.v.Hash ||
			a.v.Salted != nil && strings.Contains(got.PasswordHash, a.v.Salted.Hex) {
			t.Errorf("%s (%s): stored hash after login is %.40q…, want latchkey's Argon2id in place of the imported one", a.v.Scheme, a.how, got.PasswordHash)
		}
	}
}
