// Package bench measures latchkey against the bare Go HTTP stack: it runs
// the real server and a trivial baseline as separate processes, drives both
// with the same keep-alive load loop, and reports throughput, latency and
// the server's memory.
package bench

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measured run.
type Result struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	PeakRSS  int64         // bytes, of the measured processes together
	CPU      time.Duration // user+system time the measured processes spent during the run
}

// CPUPerRequest is the measured process's CPU time per successful request:
// unlike requests per second, it barely moves when other work shares the machine.
func (r Result) CPUPerRequest() time.Duration {
	if n := r.Requests - r.Errors; n > 0 {
		return r.CPU / time.Duration(n)
	}
	return 0
}

// RPS is the successful requests per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// Request makes worker w's next request; nil means the worker has no more work.
type Request func(w int) *http.Request

// Check inspects a response body; false counts the request as an error.
type Check func(w int, status int, body []byte) bool

// Run drives c workers over keep-alive connections for d, sampling the
// summed RSS and CPU time of the processes pids.
func Run(ctx context.Context, c int, d time.Duration, pids []int, next Request, check Check) Result {
	tr := &http.Transport{MaxIdleConns: c, MaxIdleConnsPerHost: c, MaxConnsPerHost: c, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var peak atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var rss int64
			for _, pid := range pids {
				rss += RSS(pid)
			}
			if rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	cpuTime := func() (sum time.Duration) {
		for _, pid := range pids {
			sum += CPUTime(pid)
		}
		return sum
	}
	cpu0 := cpuTime()
	lat := make([][]time.Duration, c)
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c {
		wg.Go(func() {
			for ctx.Err() == nil {
				req := next(w)
				if req == nil {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						lat[w] = append(lat[w], time.Since(t0))
					}
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if !check(w, resp.StatusCode, body) {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	cancel()
	<-sampled
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{Requests: len(all), Errors: int(errs.Load()), Elapsed: elapsed, PeakRSS: peak.Load(), CPU: cpu}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// RSS returns a process's resident set size in bytes, 0 when unknown.
func RSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// CPUTime returns a process's user plus system CPU time so far, 0 when unknown.
func CPUTime(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // /proc counts in USER_HZ, 100 on Linux
}

// summarize reduces paired runs to one: the run with the median ratio
// supplies throughput, CPU and latencies (so they belong together), errs
// sums all runs' errors and RSS is the peak of all runs; lo and hi are the
// ratio's range.
func summarize(bases, results []Result) (base, res Result, errs int, ratio, lo, hi float64) {
	idx := make([]int, len(results))
	ratios := make([]float64, len(results))
	var peak int64
	for i := range results {
		idx[i] = i
		if b := bases[i].RPS(); b > 0 {
			ratios[i] = results[i].RPS() / b
		}
		errs += results[i].Errors
		peak = max(peak, results[i].PeakRSS)
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(ratios[a], ratios[b]) })
	m := idx[len(idx)/2]
	base, res = bases[m], results[m]
	// The median run keeps its own errors, which its throughput and CPU
	// per request count against its own requests; errs is every run's.
	res.PeakRSS = peak
	return base, res, errs, ratios[m], ratios[idx[0]], ratios[idx[len(idx)-1]]
}
