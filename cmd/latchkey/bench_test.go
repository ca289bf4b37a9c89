package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/bench"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// benchLine is the machine-readable line issue 7 specifies, exactly.
var benchLine = regexp.MustCompile(`^BENCH scenario=(\w+) db=sqlite c=2 rps=[0-9.]+ p50_ms=[0-9.]+ p99_ms=[0-9.]+ errors=(\d+) ` +
	`baseline_rps=[0-9.]+ ratio=[0-9.]+ server_rss_mb=[0-9.]+$`)

// TestBenchPrintsEveryScenario runs the real bench briefly: one BENCH line
// per scenario, in the exact format, and no failed requests.
func TestBenchPrintsEveryScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server and the baseline for a dozen seconds")
	}
	res := runCLI(t, t.TempDir(), nil, "bench", "--duration", "1s", "--concurrency", "2", "--prefill", "1000")
	if res.code != 0 {
		t.Fatalf("bench exited %d:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(res.stdout, "\n") {
		if !strings.HasPrefix(line, "BENCH ") {
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("BENCH line not in the specified format: %q", line)
		}
		if m[2] != "0" {
			t.Errorf("scenario %s had %s failed requests: %q", m[1], m[2], line)
		}
		seen[m[1]] = true
	}
	for _, sc := range bench.Scenarios {
		if !seen[sc] {
			t.Errorf("no BENCH line for scenario %s:\n%s", sc, res.stdout)
		}
	}
}

// TestBenchRunsReportTheMedian: with --runs, the table shows the ratio's range
// and there is still one BENCH line per scenario and concurrency.
func TestBenchRunsReportTheMedian(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server and the baseline for several seconds")
	}
	res := runCLI(t, t.TempDir(), nil, "bench", "--duration", "1s", "--concurrency", "2", "--runs", "3", "--scenario", "introspect")
	if res.code != 0 {
		t.Fatalf("bench exited %d:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := strings.Count(res.stdout, "BENCH scenario=introspect "); n != 1 {
		t.Fatalf("%d BENCH lines for one scenario and concurrency:\n%s", n, res.stdout)
	}
	if !regexp.MustCompile(`introspect\s+sqlite\s+2\s.*\d\.\d{3} \(\d\.\d{3}–\d\.\d{3}\)`).MatchString(res.stdout) {
		t.Fatalf("the table does not show the ratio's range:\n%s", res.stdout)
	}
	if bad := runCLI(t, t.TempDir(), nil, "bench", "--runs", "0"); bad.code == 0 || !strings.Contains(bad.stderr, "--runs") {
		t.Fatalf("--runs 0 accepted: %d %s", bad.code, bad.stderr)
	}
}

// compareLine is the machine-readable line of bench --compare.
var compareLine = regexp.MustCompile(`^COMPARE scenario=(\w+) db=sqlite c=2 pairs=2 rps=([0-9.]+) other_rps=([0-9.]+) rps_ratio=([0-9.]+) ` +
	`cpu_us=[0-9.]+ other_cpu_us=[0-9.]+ cpu_ratio=[0-9.]+ errors=(\d+) other_errors=(\d+)$`)

// TestBenchCompare measures the binary against itself: one COMPARE line per
// scenario, in the documented form, both sides served without errors.
func TestBenchCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers for several seconds")
	}
	res := runCLI(t, t.TempDir(), nil, "bench", "--compare", latchkeyBin, "--duration", "1s", "--concurrency", "2", "--runs", "2",
		"--scenario", "client_credentials,refresh_token")
	if res.code != 0 {
		t.Fatalf("bench --compare exited %d:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(res.stdout, "\n") {
		if !strings.HasPrefix(line, "COMPARE ") {
			continue
		}
		m := compareLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("COMPARE line not in the documented form:\n%s", line)
		}
		seen[m[1]] = true
		if m[5] != "0" || m[6] != "0" {
			t.Errorf("errors in %s", line)
		}
		rps, _ := strconv.ParseFloat(m[2], 64)
		other, _ := strconv.ParseFloat(m[3], 64)
		if rps <= 0 || other <= 0 {
			t.Errorf("no throughput on one side: %s", line)
		}
	}
	if len(seen) != 2 || !seen["client_credentials"] || !seen["refresh_token"] {
		t.Fatalf("COMPARE lines for %v, want client_credentials and refresh_token:\n%s", seen, res.stdout)
	}
	if strings.Contains(res.stdout, "BENCH ") {
		t.Fatalf("BENCH lines in a comparison, which has no baseline:\n%s", res.stdout)
	}
	if bad := runCLI(t, t.TempDir(), nil, "bench", "--compare", "/nonexistent/latchkey"); bad.code == 0 || !strings.Contains(bad.stderr, "--compare") {
		t.Fatalf("a missing --compare binary accepted: %d %s", bad.code, bad.stderr)
	}
}

// TestBenchTwoNodes runs the bench with two server processes on one
// PostgreSQL database: it starts, both nodes answer, and nothing fails.
func TestBenchTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers and the baseline for a few seconds")
	}
	dsn := os.Getenv(pgtest.EnvVar)
	if dsn == "" {
		pgtest.DSN(t) // skips, saying how to enable it
	}
	res := runCLI(t, t.TempDir(), nil, "bench", "--db", dsn, "--nodes", "2", "--scenario", "client_credentials,refresh_token",
		"--duration", "1s", "--concurrency", "4")
	if res.code != 0 {
		t.Fatalf("bench exited %d:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	lines := regexp.MustCompile(`(?m)^BENCH scenario=(\w+) db=postgres_x2 c=4 rps=([0-9.]+) .* errors=(\d+) `).FindAllStringSubmatch(res.stdout, -1)
	if len(lines) != 2 {
		t.Fatalf("want two BENCH lines with db=postgres_x2:\n%s", res.stdout)
	}
	for _, m := range lines {
		if rps, _ := strconv.ParseFloat(m[2], 64); rps <= 0 || m[3] != "0" {
			t.Errorf("scenario %s on two nodes: rps %s, %s errors", m[1], m[2], m[3])
		}
	}
	if res := runCLI(t, t.TempDir(), nil, "bench", "--nodes", "2", "--duration", "1s"); res.code == 0 || !strings.Contains(res.stderr, "postgres") {
		t.Errorf("--nodes 2 on SQLite: exit %d, %s; want a refusal naming PostgreSQL", res.code, res.stderr)
	}
}
