package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// TestAdminIntrospectAndDisable: client create --introspect registers a
// resource server (a public one is refused); account disable revokes the
// account's tokens and ends its sessions, enable lets it sign in again,
// and set-password says what it revoked.
func TestAdminIntrospectAndDisable(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "lk.db")
	env := []string{"LATCHKEY_DB=sqlite:" + dbPath, "LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret")}
	ok := func(args ...string) string {
		t.Helper()
		res := runCLI(t, dir, env, args...)
		if res.code != 0 {
			t.Fatalf("latchkey %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
		}
		return res.stdout
	}
	fails := func(want string, args ...string) {
		t.Helper()
		if res := runCLI(t, dir, env, args...); res.code == 0 || !strings.Contains(res.stderr, want) {
			t.Fatalf("latchkey %s: exit %d, stderr %q; want %q", strings.Join(args, " "), res.code, res.stderr, want)
		}
	}
	ok("migrate")
	ok("merchant", "create", "--id", "777777", "--name", "Demo Loyalty")

	ok("client", "create", "--id", "api", "--name", "Platform API", "--grant", "client_credentials", "--introspect")
	var shown map[string]any
	if err := json.Unmarshal([]byte(ok("client", "show", "api", "--json")), &shown); err != nil || shown["introspect"] != true {
		t.Fatalf("client show --json of a resource server: %v %v", shown, err)
	}
	if table := ok("client", "show", "api"); !strings.Contains(table, "confidential (introspect)") {
		t.Fatalf("client show does not say the client may introspect:\n%s", table)
	}
	ok("client", "create", "--id", "app", "--name", "App", "--grant", "client_credentials,password", "--merchant", "777777")
	if err := json.Unmarshal([]byte(ok("client", "show", "app", "--json")), &shown); err != nil || shown["introspect"] != false {
		t.Fatalf("client show --json of a plain client: %v %v", shown, err)
	}
	fails("--introspect is for confidential clients", "client", "create", "--name", "SPA", "--public", "--account-kind", "staff",
		"--grant", "authorization_code", "--redirect-uri", "http://127.0.0.1:8080/callback", "--introspect")

	var acc map[string]any
	if err := json.Unmarshal([]byte(ok("account", "create", "--kind", "guest", "--username", "johndoe", "--merchant", "777777",
		"--password", "open-sesame", "--json")), &acc); err != nil {
		t.Fatal(err)
	}
	id := acc["id"].(string)

	// A token and a session of the account, as the server would store them.
	withStore := func(fn func(ctx context.Context, st storage.Storage)) {
		t.Helper()
		ctx := context.Background()
		st, err := sqlite.Open(ctx, dbPath, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		fn(ctx, st)
	}
	now := time.Now()
	withStore(func(ctx context.Context, st storage.Storage) {
		at := storage.AccessToken{ID: "at-1", ClientID: "app", AccountID: id, Owner: storage.ResourceOwner{Type: storage.OwnerGuest, ID: id},
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateTokens(ctx, storage.TokenSet{Access: &at}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateSession(ctx, storage.Session{ID: "s-1", AccountID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	})

	if out := ok("account", "disable", id); !strings.Contains(out, "disabled") || !strings.Contains(out, "revoked") {
		t.Fatalf("account disable printed %q", out)
	}
	if err := json.Unmarshal([]byte(ok("account", "show", id, "--json")), &acc); err != nil || acc["disabled"] != true {
		t.Fatalf("account after disable: %v %v", acc, err)
	}
	withStore(func(ctx context.Context, st storage.Storage) {
		if at, err := st.GetAccessToken(ctx, "at-1"); err != nil || at.RevokedAt.IsZero() {
			t.Errorf("the disabled account's token: revoked at %v, %v", at.RevokedAt, err)
		}
		if _, err := st.GetSession(ctx, "s-1"); err == nil {
			t.Error("the disabled account's session is still there")
		}
	})
	ok("account", "enable", id)
	if err := json.Unmarshal([]byte(ok("account", "show", id, "--json")), &acc); err != nil || acc["disabled"] != false {
		t.Fatalf("account after enable: %v %v", acc, err)
	}
	fails(`account "acc_missing" not found`, "account", "disable", "acc_missing")
	if out := ok("account", "set-password", id, "--password", "a-new-password"); !strings.Contains(out, "revoked") {
		t.Fatalf("set-password printed %q", out)
	}
}
