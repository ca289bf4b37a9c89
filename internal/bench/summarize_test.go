package bench

import (
	"testing"
	"time"
)

// TestSummarizeKeepsTheMedianRunsErrors: with errors in every run, the
// reported run's throughput and CPU per request count its own errors only
// (summing them all made a c=500 password run report -985 logins/s).
func TestSummarizeKeepsTheMedianRunsErrors(t *testing.T) {
	base := Result{Requests: 1000, Elapsed: time.Second}
	results := []Result{
		{Requests: 4000, Errors: 3600, Elapsed: 10 * time.Second, CPU: 4 * time.Second, PeakRSS: 3},
		{Requests: 4000, Errors: 3500, Elapsed: 10 * time.Second, CPU: 5 * time.Second, PeakRSS: 9},
		{Requests: 4000, Errors: 3400, Elapsed: 10 * time.Second, CPU: 6 * time.Second, PeakRSS: 5},
	}
	_, res, errs, ratio, lo, hi := summarize([]Result{base, base, base}, results)
	if res.RPS() != 50 || res.CPUPerRequest() != 10*time.Millisecond {
		t.Errorf("median run: %.1f rps, %v CPU per request; want 50 and 10ms", res.RPS(), res.CPUPerRequest())
	}
	if errs != 10500 || res.PeakRSS != 9 {
		t.Errorf("errors %d, peak RSS %d; want every run's errors (10500) and the highest RSS (9)", errs, res.PeakRSS)
	}
	if ratio != 0.05 || lo != 0.04 || hi != 0.06 {
		t.Errorf("ratio %.3f (%.3f–%.3f), want 0.050 (0.040–0.060)", ratio, lo, hi)
	}
}
