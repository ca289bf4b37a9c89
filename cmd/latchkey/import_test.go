package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage/backend"
)

// The client secret the import file carries, which must work at the
// token endpoint and appear nowhere else: not in the database, the
// output or the error report.
const importedSecret = "legacy-secret-9f8e7d6c"

// TestImportCommand imports every kind through the binary into a SQLite
// file, then checks: a rerun changes nothing, --dry-run writes nothing,
// a bad row fails alone with exit status 1 and a report naming its line
// and field, and the imported client authenticates with its old secret at
// a real server's token endpoint while its secret is stored only hashed.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	dbPath, secretFile := filepath.Join(dir, "lk.db"), filepath.Join(dir, "secret")
	env := []string{"LATCHKEY_DB=sqlite:" + dbPath, "LATCHKEY_SECRET_FILE=" + secretFile}
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ok := func(args ...string) cliResult {
		t.Helper()
		res := runCLI(t, dir, env, args...)
		if res.code != 0 {
			t.Fatalf("latchkey %s: exit %d: %s%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
		}
		return res
	}
	ok("migrate")
	ok("import", "organizations", write("orgs.csv", "id,name\no-1,Group\n"))
	ok("import", "merchants", write("merchants.csv", "id,name,organization_id\n777777,Demo Loyalty,o-1\n"))
	accounts := write("accounts.jsonl",
		`{"id":"g-1","kind":"guest","username":"alice","merchant_id":"777777","password_hash":"$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}`+"\n"+
			`{"id":"s-1","kind":"staff","username":"boss","memberships":["merchant:777777"],"password_hash":"$2b$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}`+"\n")
	res := ok("import", "accounts", accounts)
	if !strings.Contains(res.stdout, "read 2, created 2, updated 0, skipped 0, failed 0") {
		t.Fatalf("summary: %q", res.stdout)
	}
	clients := `{"client_id":"pos-app","client_secret":"` + importedSecret + `","client_name":"POS","grant_types":["client_credentials"],"scope":"merchant","merchant_id":"777777"}` + "\n"
	// FILE "-" is standard input.
	res = runCLIStdin(t, dir, env, clients, "import", "clients", "--format", "jsonl", "-")
	if res.code != 0 || !strings.Contains(res.stdout, "created 1") {
		t.Fatalf("import clients from stdin: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}

	// A rerun skips everything; a dry run of new rows writes nothing.
	before := ok("account", "list", "--json").stdout
	res = ok("import", "accounts", accounts)
	if !strings.Contains(res.stdout, "created 0, updated 0, skipped 2") {
		t.Fatalf("rerun: %q", res.stdout)
	}
	more := write("more.jsonl", `{"id":"g-2","kind":"guest","username":"bob","merchant_id":"777777","password_hash":"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}`+"\n")
	res = ok("import", "accounts", "--dry-run", more)
	if !strings.Contains(res.stdout, "dry run, nothing written") || !strings.Contains(res.stdout, "created 1") {
		t.Fatalf("dry run: %q", res.stdout)
	}
	if after := ok("account", "list", "--json").stdout; after != before {
		t.Fatalf("rerun or dry run changed the accounts:\n%s\n%s", before, after)
	}

	// A bad row (a client secret for a public client) fails alone, the
	// good row after it is imported, exit status 1, reported by line.
	bad := write("bad.jsonl", `{"client_id":"web","client_secret":"`+importedSecret+`","client_name":"Web","token_endpoint_auth_method":"none","grant_types":["authorization_code"],"redirect_uris":["https://web.example/cb"]}`+"\n"+
		`{"client_id":"ok-app","client_secret":"`+importedSecret+`","client_name":"OK","grant_types":["client_credentials"],"scope":"merchant","merchant_id":"777777"}`+"\n")
	res = runCLI(t, dir, env, "import", "clients", bad, "--report", "report.csv")
	if res.code != 1 || !strings.Contains(res.stdout, "read 2, created 1") || !strings.Contains(res.stderr, "1 of 2 rows failed; see report.csv") {
		t.Fatalf("bad row: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(report), "line,field,reason\n1,client_secret,") {
		t.Fatalf("report:\n%s", report)
	}
	for what, text := range map[string]string{"report": string(report), "stdout": res.stdout, "stderr": res.stderr} {
		if strings.Contains(text, importedSecret) {
			t.Fatalf("the %s holds the client secret:\n%s", what, text)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "import-errors-accounts.csv")); !os.IsNotExist(err) {
		t.Fatalf("a clean import left an error report: %v", err)
	}

	// Each run that wrote left one audit event, not one per record.
	events := ok("audit", "export", "--type", "directory.imported").stdout
	if n := strings.Count(events, "\n"); n != 5 || !strings.Contains(events, `"import:accounts"`) || strings.Contains(events, importedSecret) {
		t.Fatalf("import audit events (%d):\n%s", n, events)
	}

	// The old secret works at the token endpoint of a real server.
	base, stop := startServe(t, dir, "--db", "sqlite:"+dbPath, "--secret-file", secretFile)
	resp, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"pos-app"}, "client_secret": {importedSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("client_credentials with the imported secret: %d %+v", resp.StatusCode, tok)
	}
	resp, err = http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"pos-app"}, "client_secret": {importedSecret + "x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong secret: %d, want 401", resp.StatusCode)
	}
	if run := stop(syscall.SIGTERM); run.code != 0 {
		t.Fatalf("serve exited %d: %s", run.code, run.stderr)
	}
	// Stored only as a keyed hash: the secret is nowhere in the database files.
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Contains(string(data), importedSecret) {
			t.Fatalf("%s holds the client secret in clear", f)
		}
	}
	// The imported bcrypt hash is stored exactly as given.
	st, err := backend.Open(context.Background(), "sqlite", dbPath, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g, err := st.GetAccount(context.Background(), "g-1")
	if err != nil || g.PasswordHash != "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy" {
		t.Fatalf("imported guest: %+v, %v", g, err)
	}
	c, err := st.GetClient(context.Background(), "pos-app")
	if err != nil || c.SecretHash == "" || strings.Contains(c.SecretHash, importedSecret) {
		t.Fatalf("imported client's secret hash %q, %v", c.SecretHash, err)
	}
}
