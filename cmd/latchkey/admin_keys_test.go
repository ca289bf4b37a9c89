package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysCLI: keys rotate makes a key of each algorithm (or of those
// named by --alg) and keys list shows each key's algorithm.
func TestKeysCLI(t *testing.T) {
	dir := t.TempDir()
	env := []string{"LATCHKEY_DB=sqlite:" + filepath.Join(dir, "lk.db"), "LATCHKEY_SECRET_FILE=" + filepath.Join(dir, "secret")}
	ok := func(args ...string) string {
		t.Helper()
		res := runCLI(t, dir, env, args...)
		if res.code != 0 {
			t.Fatalf("latchkey %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
		}
		return res.stdout
	}
	keys := func(args ...string) []keyView {
		t.Helper()
		var ks []keyView
		if out := ok(append(args, "--json")...); json.Unmarshal([]byte(out), &ks) != nil {
			t.Fatalf("latchkey %s --json printed %q", strings.Join(args, " "), out)
		}
		return ks
	}
	algs := func(ks []keyView) string {
		var a []string
		for _, k := range ks {
			a = append(a, k.Algorithm)
		}
		return strings.Join(a, ",")
	}

	ok("migrate")
	first := keys("keys", "rotate", "--publish-ahead", "0s")
	if algs(first) != "RS256,ES256" {
		t.Fatalf("keys rotate made %+v, want an RS256 and an ES256 key", first)
	}
	table := ok("keys", "list")
	for _, k := range first {
		if !strings.Contains(table, k.ID) || !strings.Contains(table, k.Algorithm) {
			t.Fatalf("keys list does not show %s %s:\n%s", k.ID, k.Algorithm, table)
		}
	}

	rs := keys("keys", "rotate", "--alg", "rs256")
	if algs(rs) != "RS256" {
		t.Fatalf("keys rotate --alg rs256 made %+v", rs)
	}
	listed := keys("keys", "list")
	if len(listed) != 3 {
		t.Fatalf("keys list: %+v, want 3 keys", listed)
	}
	for _, k := range listed {
		switch {
		case k.ID == first[0].ID && k.RetiredAt == "":
			t.Fatal("the first RS256 key was not retired")
		case k.ID == first[1].ID && k.RetiredAt != "":
			t.Fatal("rotating RS256 retired the ES256 key")
		}
	}

	res := runCLI(t, dir, env, "keys", "rotate", "--alg", "PS256")
	if res.code == 0 || !strings.Contains(res.stderr, `--alg "PS256" must be one of RS256, ES256`) {
		t.Fatalf("keys rotate --alg PS256: exit %d, %s", res.code, res.stderr)
	}

	// Each rotation is an audit event by the CLI, as the admin API's are;
	// the refused one is none.
	events := parseLines(t, ok("audit", "export", "--type", "keys.rotated"))
	if len(events) != 2 {
		t.Fatalf("keys.rotated events: %v, want one per rotation (2)", events)
	}
	for i, want := range []string{"2", "1"} {
		ev := events[i]
		detail, _ := ev["detail"].(map[string]any)
		if ev["actor"] != "cli" || ev["subject"] != "keys" || detail["count"] != want {
			t.Errorf("rotation %d recorded as %v, want actor cli, subject keys, count %s", i+1, ev, want)
		}
	}
}
