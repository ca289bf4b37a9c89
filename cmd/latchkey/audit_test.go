package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestAuditExport: changes made with the CLI are exported as JSON Lines,
// each with the actor cli, filtered as asked, and without the client
// secret the create printed.
func TestAuditExport(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			db := "sqlite:" + filepath.Join(dir, "lk.db")
			if backend == "postgres" {
				db = pgtest.DSN(t)
			}
			env := []string{"LATCHKEY_DB=" + db, "LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret")}
			ok := func(args ...string) string {
				t.Helper()
				res := runCLI(t, dir, env, args...)
				if res.code != 0 {
					t.Fatalf("latchkey %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
				}
				return res.stdout
			}
			ok("migrate")
			start := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
			ok("merchant", "create", "--id", "777777", "--name", "Demo Loyalty")
			created := ok("client", "create", "--id", "pos-app", "--name", "POS app", "--grant", "client_credentials",
				"--scope", "merchant", "--merchant", "777777")
			m := printedSecret.FindStringSubmatch(created)
			if m == nil {
				t.Fatalf("client create printed no secret:\n%s", created)
			}
			rotated := printedSecret.FindStringSubmatch(ok("client", "rotate-secret", "pos-app"))
			if rotated == nil {
				t.Fatal("rotate-secret printed no secret")
			}

			out := ok("audit", "export")
			for _, secret := range []string{m[1], rotated[1]} {
				if strings.Contains(out, secret) {
					t.Fatalf("audit export holds a client secret:\n%s", out)
				}
			}
			events := parseLines(t, out)
			var types []string
			for _, ev := range events {
				types = append(types, ev["type"].(string))
				if ev["actor"] != "cli" {
					t.Errorf("event by %v, want actor cli: %v", ev["actor"], ev)
				}
			}
			if want := "merchant.created client.created client.secret_rotated"; strings.Join(types, " ") != want {
				t.Fatalf("exported %v, want %s:\n%s", types, want, out)
			}
			c := events[1]
			if c["subject"] != "client:pos-app" || c["client_id"] != "pos-app" || c["merchant_id"] != "777777" ||
				c["detail"].(map[string]any)["name"] != "POS app" {
				t.Fatalf("client.created event: %v", c)
			}
			if _, err := time.Parse(time.RFC3339Nano, c["time"].(string)); err != nil {
				t.Fatalf("event time: %v", err)
			}

			only := parseLines(t, ok("audit", "export", "--type", "client.created", "--actor", "cli", "--merchant", "777777",
				"--subject", "client:pos-app", "--since", start))
			if len(only) != 1 || only[0]["id"] != c["id"] {
				t.Fatalf("filtered export: %v, want the client.created event alone", only)
			}
			if later := ok("audit", "export", "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)); later != "" {
				t.Fatalf("export since an hour ahead printed %q", later)
			}
			if before := ok("audit", "export", "--until", start); before != "" {
				t.Fatalf("export until before the changes printed %q", before)
			}
			if res := runCLI(t, dir, env, "audit", "export", "--since", "yesterday"); res.code == 0 || !strings.Contains(res.stderr, "--since") {
				t.Fatalf("a bad --since: exit %d, %s", res.code, res.stderr)
			}
		})
	}
}

func parseLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}
