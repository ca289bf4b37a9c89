package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

var printedSecret = regexp.MustCompile(`client secret: (lk_cs_\S+)`)

// TestAdminCLI drives migrate, merchant, client and account commands
// against a temporary SQLite file and checks what they print and store.
func TestAdminCLI(t *testing.T) {
	dir := t.TempDir()
	dbPath, secretFile := filepath.Join(dir, "lk.db"), filepath.Join(dir, "secret")
	env := []string{"LATCHKEY_DB=sqlite:" + dbPath, "LATCHKEY_SECRET_FILE=" + secretFile}
	ok := func(args ...string) cliResult {
		t.Helper()
		res := runCLI(t, dir, env, args...)
		if res.code != 0 {
			t.Fatalf("latchkey %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
		}
		return res
	}
	fails := func(want string, args ...string) {
		t.Helper()
		res := runCLI(t, dir, env, args...)
		lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
		if res.code == 0 || len(lines) != 1 || !strings.Contains(res.stderr, want) {
			t.Fatalf("latchkey %s: exit %d, stderr %q; want one line containing %q", strings.Join(args, " "), res.code, res.stderr, want)
		}
	}

	ok("migrate")
	ok("merchant", "create", "--id", "777777", "--name", "Demo Loyalty")
	ok("org", "create", "--id", "o-1", "--name", "Group")

	created := ok("client", "create", "--id", "pos-app", "--name", "POS app", "--grant", "client_credentials,refresh_token",
		"--scope", "merchant customer", "--default-scope", "merchant", "--merchant", "777777", "--access-ttl", "20m")
	m := printedSecret.FindStringSubmatch(created.stdout)
	if m == nil {
		t.Fatalf("client create printed no secret:\n%s", created.stdout)
	}
	secret := m[1]
	show := ok("client", "show", "pos-app")
	if strings.Contains(show.stdout, secret) || strings.Contains(show.stdout, "hmac-sha256") {
		t.Fatalf("client show reveals the secret or its hash:\n%s", show.stdout)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(ok("client", "show", "pos-app", "--json").stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if shown["client_id"] != "pos-app" || shown["access_token_ttl"] != float64(1200) || shown["client_secret"] != nil {
		t.Fatalf("client show --json: %v", shown)
	}
	list := ok("client", "list").stdout
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "pos-app ") ||
		strings.Index(lines[0], "NAME") != strings.Index(lines[1], "POS app") {
		t.Fatalf("client list is not an aligned table with the client:\n%s", list)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(ok("client", "list", "--json").stdout), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("client list --json: %v %v", listed, err)
	}

	// The printed secret is the one stored: it verifies against the database.
	keysFor := func() *secrets.Keys {
		s, _, err := config.Config{SecretFile: secretFile}.SystemSecret(false)
		if err != nil {
			t.Fatal(err)
		}
		k, err := secrets.NewKeys(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	verify := func(secret string) bool {
		st, err := sqlite.Open(context.Background(), dbPath, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		c, err := st.GetClient(context.Background(), "pos-app")
		if err != nil {
			t.Fatal(err)
		}
		return keysFor().VerifyClientSecret(c.SecretHash, secret)
	}
	if !verify(secret) {
		t.Fatal("the printed secret does not verify")
	}
	rotated := printedSecret.FindStringSubmatch(ok("client", "rotate-secret", "pos-app").stdout)
	if rotated == nil || rotated[1] == secret || !verify(rotated[1]) || verify(secret) {
		t.Fatal("rotate-secret did not replace the secret")
	}

	guest := ok("account", "create", "--kind", "guest", "--username", "johndoe", "--merchant", "777777", "--card", "6000986775",
		"--password", "open-sesame")
	if !strings.Contains(guest.stdout, "johndoe") || strings.Contains(guest.stdout, "argon2") {
		t.Fatalf("account create output:\n%s", guest.stdout)
	}
	staff := ok("account", "create", "--kind", "staff", "--username", "owner@example.com", "--member", "merchant:777777",
		"--member", "organization:o-1", "--password", "correct-horse", "--json")
	var acc map[string]any
	if err := json.Unmarshal([]byte(staff.stdout), &acc); err != nil || len(acc["memberships"].([]any)) != 2 {
		t.Fatalf("staff account --json: %v %v", acc, err)
	}
	fails("already exists", "account", "create", "--kind", "guest", "--username", "JohnDoe", "--merchant", "777777", "--password", "another-pass")

	fails(`grant type "implicit" is not supported`, "client", "create", "--name", "x", "--grant", "implicit")
	fails(`default scope "b" is not among`, "client", "create", "--name", "x", "--grant", "client_credentials", "--scope", "a", "--default-scope", "b")
	fails("needs --merchant", "account", "create", "--kind", "guest", "--username", "x", "--password", "long-enough")
	fails("must use https", "client", "create", "--name", "x", "--grant", "authorization_code", "--redirect-uri", "http://evil.example/cb")
	fails(`merchant "777777" still has`, "merchant", "delete", "777777")
	fails(`organization "o-1" still has`, "org", "delete", "o-1")
	fails(`merchant "nope" not found`, "account", "create", "--kind", "guest", "--username", "x", "--merchant", "nope", "--password", "long-enough")
	fails(`organization "nope" not found`, "account", "create", "--kind", "staff", "--username", "x", "--member", "organization:nope", "--password", "long-enough")
	fails(`merchant "nope" not found`, "client", "create", "--name", "x", "--grant", "client_credentials", "--merchant", "nope")
	fails(`organization "nope" not found`, "merchant", "create", "--id", "m-2", "--name", "Two", "--organization", "nope")
	fails("--member is for staff", "account", "create", "--kind", "guest", "--username", "x", "--merchant", "777777", "--member", "merchant:777777", "--password", "long-enough")
	fails("--merchant is for guest", "account", "create", "--kind", "staff", "--username", "x", "--merchant", "777777", "--password", "long-enough")
	fails("must be 8 to 1024 bytes", "account", "create", "--kind", "staff", "--username", "x", "--password", "short")
	fails("--name must be", "merchant", "create", "--id", "m-3", "--name", " ")
	fails("give --merchant ID, or --account-kind staff", "client", "create", "--name", "x", "--grant", "password")
	fails("public client cannot use the client_credentials", "client", "create", "--name", "x", "--public", "--grant", "client_credentials")

	// Accounts: filtered lists, no hashes, passwords changed by id.
	guests := ok("account", "list", "--kind", "guest", "--json").stdout
	if strings.Contains(guests, "owner@example.com") || !strings.Contains(guests, "johndoe") || strings.Contains(guests, "argon2") {
		t.Fatalf("account list --kind guest:\n%s", guests)
	}
	ok("account", "set-password", acc["id"].(string), "--password", "new-password")
	fails(`account "acc_missing" not found`, "account", "set-password", "acc_missing", "--password", "new-password")

	pub := ok("client", "create", "--id", "spa", "--name", "SPA", "--public", "--account-kind", "staff", "--grant", "authorization_code",
		"--redirect-uri", "http://127.0.0.1:8080/callback", "--json").stdout
	var spa map[string]any
	if err := json.Unmarshal([]byte(pub), &spa); err != nil || spa["require_pkce"] != true || spa["client_secret"] != nil {
		t.Fatalf("public client --json: %v %v", spa, err)
	}
	fails(`client "spa" is public`, "client", "rotate-secret", "spa")
	// The plain show has what decides how the client logs people in, not only --json.
	spaShow := ok("client", "show", "spa").stdout
	spaLines := strings.Split(strings.TrimSpace(spaShow), "\n")
	for _, col := range []struct{ head, value string }{{"ACCOUNT KIND", "staff"}, {"PKCE", "required (S256)"},
		{"TOKEN FORMAT", "opaque"}, {"REDIRECT URIS", "http://127.0.0.1:8080/callback"}} {
		if len(spaLines) != 2 || strings.Index(spaLines[0], col.head) != strings.Index(spaLines[1], col.value) {
			t.Fatalf("client show has no %s column with %q:\n%s", col.head, col.value, spaShow)
		}
	}
	if spa["id_token_signed_response_alg"] != "RS256" || len(spa["post_logout_redirect_uris"].([]any)) != 0 {
		t.Fatalf("public client without OpenID Connect settings --json: %v", spa)
	}

	// OpenID Connect settings: stored, shown, and checked before the database is opened.
	ok("client", "create", "--id", "oidc-app", "--name", "OIDC app", "--public", "--account-kind", "staff", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example/cb", "--id-token-alg", "ES256",
		"--post-logout-redirect-uri", "https://app.example/", "--post-logout-redirect-uri", "https://app.example/bye?x=1")
	detail := ok("client", "show", "oidc-app").stdout
	for _, want := range []string{"ID TOKEN ALG", "POST-LOGOUT REDIRECT URIS", "ES256", "https://app.example/ https://app.example/bye?x=1", "https://app.example/cb"} {
		if !strings.Contains(detail, want) {
			t.Fatalf("client show does not print %q:\n%s", want, detail)
		}
	}
	var oidcApp map[string]any
	if err := json.Unmarshal([]byte(ok("client", "show", "oidc-app", "--json").stdout), &oidcApp); err != nil {
		t.Fatal(err)
	}
	if oidcApp["id_token_signed_response_alg"] != "ES256" ||
		!reflect.DeepEqual(oidcApp["post_logout_redirect_uris"], []any{"https://app.example/", "https://app.example/bye?x=1"}) {
		t.Fatalf("client show --json, OpenID Connect settings: %v", oidcApp)
	}
	if list := ok("client", "list").stdout; strings.Contains(list, "ES256") {
		t.Fatalf("client list shows the detail columns:\n%s", list)
	}
	fails(`--id-token-alg "HS256" must be RS256 or ES256`, "client", "create", "--name", "x", "--account-kind", "staff",
		"--grant", "authorization_code", "--id-token-alg", "HS256")
	fails(`--post-logout-redirect-uri: redirect URI "https://app.example/#top" must not have a fragment`, "client", "create",
		"--name", "x", "--account-kind", "staff", "--grant", "authorization_code", "--post-logout-redirect-uri", "https://app.example/#top")
	fails("must be an absolute URI", "client", "create", "--name", "x", "--account-kind", "staff",
		"--grant", "authorization_code", "--post-logout-redirect-uri", "/bye")
	fails("must use https", "client", "create", "--name", "x", "--account-kind", "staff",
		"--grant", "authorization_code", "--post-logout-redirect-uri", "http://app.example/")
	fails(`--id "acc_app" must not start with "acc_"`, "client", "create", "--id", "acc_app", "--name", "x", "--grant", "client_credentials")
	// Account ids are ID tokens' subjects: never a client's id, nor the reverse.
	fails(`--id "spa" is a client's id`, "account", "create", "--id", "spa", "--kind", "staff", "--username", "spa-owner", "--password", "long-enough")
	ok("account", "create", "--id", "given-id", "--kind", "staff", "--username", "given", "--password", "long-enough")
	fails(`--id "given-id" is an account's id`, "client", "create", "--id", "given-id", "--name", "x", "--grant", "client_credentials")

	// The device grant (RFC 8628) by its short name: stored as the URN, no
	// redirect URI needed; the help lists the short name.
	term := ok("client", "create", "--id", "till", "--name", "Till", "--public", "--account-kind", "staff",
		"--grant", "device_code,refresh_token", "--scope", "posapi", "--json").stdout
	var till map[string]any
	if err := json.Unmarshal([]byte(term), &till); err != nil ||
		!reflect.DeepEqual(till["grant_types"], []any{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}) ||
		len(till["redirect_uris"].([]any)) != 0 {
		t.Fatalf("device client --json: %v %v", till, err)
	}
	// The URN itself is accepted too, and names the same grant once.
	ok("client", "create", "--id", "till-2", "--name", "Till 2", "--account-kind", "staff",
		"--grant", "urn:ietf:params:oauth:grant-type:device_code", "--grant", "device_code")
	var till2 map[string]any
	if err := json.Unmarshal([]byte(ok("client", "show", "till-2", "--json").stdout), &till2); err != nil ||
		!reflect.DeepEqual(till2["grant_types"], []any{"urn:ietf:params:oauth:grant-type:device_code"}) {
		t.Fatalf("device client by URN --json: %v %v", till2, err)
	}
	fails(`grant type "device" is not supported`, "client", "create", "--name", "x", "--account-kind", "staff", "--grant", "device")
	if help := ok("client", "create", "--help").stdout; !strings.Contains(help, "device_code (urn:ietf:params:oauth:grant-type:device_code)") {
		t.Fatalf("client create --help does not list device_code:\n%s", help)
	}

	ok("client", "delete", "pos-app")
	fails(`client "pos-app" not found`, "client", "show", "pos-app")
	fails(`client "pos-app" not found`, "client", "delete", "pos-app")
}

// TestAdminReadPassword reads --password-stdin's first line and holds
// passwords to the CLI's length bounds.
func TestAdminReadPassword(t *testing.T) {
	read := func(stdin string, args ...string) (string, error) {
		cmd := &cobra.Command{}
		passwordFlags(cmd)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		cmd.SetIn(strings.NewReader(stdin))
		return readPassword(cmd)
	}
	if pw, err := read("correct horse\r\nignored\n", "--password-stdin"); err != nil || pw != "correct horse" {
		t.Fatalf("stdin: %q %v", pw, err)
	}
	if pw, err := read("no-newline-at-end", "--password-stdin"); err != nil || pw != "no-newline-at-end" {
		t.Fatalf("stdin without newline: %q %v", pw, err)
	}
	for _, tc := range [][]string{{"", "--password-stdin"}, {"short\n", "--password-stdin"}, {strings.Repeat("x", 2000), "--password-stdin"}, {""}, {"", "--password", "1234567"}} {
		if _, err := read(tc[0], tc[1:]...); err == nil {
			t.Errorf("read %q %v: no error", tc[0], tc[1:])
		}
	}
}
