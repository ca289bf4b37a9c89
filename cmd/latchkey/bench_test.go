package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/bench"
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
