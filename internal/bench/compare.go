package bench

import (
	"context"
	"fmt"
	"slices"
)

// compare measures o.Exe against o.Compare: both run as servers side by side,
// each on its own scratch database, and every scenario and concurrency is run
// o.Runs times against each, in alternating order, so that a drift of the
// machine hits both alike. Each pair gives a ratio of throughput and of
// server CPU per request (this binary over the other); their medians are
// reported. Pairs taken minutes apart see the same machine, which the ratio
// of two separate bench invocations does not.
func compare(ctx context.Context, o Options) error {
	this, dbKind, stopThis, err := startServer(ctx, o.Exe, o.DB, o.Nodes)
	if err != nil {
		return err
	}
	defer stopThis()
	other, _, stopOther, err := startServer(ctx, o.Compare, o.DB, o.Nodes)
	if err != nil {
		return err
	}
	defer stopOther()

	header := "scenario\tdb\tc\tpairs\trps\tother rps\trps ratio\tCPU µs/req\tother CPU µs/req\tCPU ratio\terrors\tother errors\t"
	return sweep(ctx, o, []*target{this, other}, header, func(sc string, c int) (string, string, error) {
		var mine, theirs []Result
		for i := range max(o.Runs, 1) {
			order := []*target{this, other}
			if i%2 == 1 {
				order[0], order[1] = other, this
			}
			for _, t := range order {
				s, err := newScenario(ctx, sc, t.urls(), t.st, t.keys, c, o.Duration)
				if err != nil {
					return "", "", fmt.Errorf("scenario %s: %w", sc, err)
				}
				r := Run(ctx, c, o.Duration, t.pids(), s.next, s.check)
				if t == this {
					mine = append(mine, r)
				} else {
					theirs = append(theirs, r)
				}
			}
			if ctx.Err() != nil {
				return "", "", ctx.Err()
			}
		}
		p := pairRatios(mine, theirs)
		row := fmt.Sprintf("%s\t%s\t%d\t%d\t%.0f\t%.0f\t%.3f (%.3f–%.3f)\t%.1f\t%.1f\t%.3f (%.3f–%.3f)\t%d\t%d\t", sc, dbKind, c, len(mine),
			p.rps, p.otherRPS, p.rpsRatio[1], p.rpsRatio[0], p.rpsRatio[2], p.cpu, p.otherCPU, p.cpuRatio[1], p.cpuRatio[0], p.cpuRatio[2],
			p.errors, p.otherErrors)
		line := fmt.Sprintf("COMPARE scenario=%s db=%s c=%d pairs=%d rps=%.1f other_rps=%.1f rps_ratio=%.3f cpu_us=%.1f other_cpu_us=%.1f cpu_ratio=%.3f errors=%d other_errors=%d",
			sc, dbKind, c, len(mine), p.rps, p.otherRPS, p.rpsRatio[1], p.cpu, p.otherCPU, p.cpuRatio[1], p.errors, p.otherErrors)
		return row, line, nil
	})
}

// pairs summarizes paired runs: medians of each side's throughput and CPU
// per request, and the minimum, median and maximum of the pairs' ratios.
type pairs struct {
	rps, otherRPS, cpu, otherCPU float64
	rpsRatio, cpuRatio           [3]float64
	errors, otherErrors          int
}

func pairRatios(mine, theirs []Result) pairs {
	var p pairs
	var rps, otherRPS, cpu, otherCPU, rr, cr []float64
	for i := range mine {
		a, b := mine[i], theirs[i]
		rps, otherRPS = append(rps, a.RPS()), append(otherRPS, b.RPS())
		cpu, otherCPU = append(cpu, micros(a.CPUPerRequest())), append(otherCPU, micros(b.CPUPerRequest()))
		if b.RPS() > 0 {
			rr = append(rr, a.RPS()/b.RPS())
		}
		if b.CPUPerRequest() > 0 {
			cr = append(cr, float64(a.CPUPerRequest())/float64(b.CPUPerRequest()))
		}
		p.errors += a.Errors
		p.otherErrors += b.Errors
	}
	p.rps, p.otherRPS, p.cpu, p.otherCPU = median(rps), median(otherRPS), median(cpu), median(otherCPU)
	p.rpsRatio, p.cpuRatio = spread(rr), spread(cr)
	return p
}

func median(x []float64) float64 { return spread(x)[1] }

// spread returns the minimum, median and maximum of x (zeros if empty).
func spread(x []float64) [3]float64 {
	if len(x) == 0 {
		return [3]float64{}
	}
	y := slices.Clone(x)
	slices.Sort(y)
	return [3]float64{y[0], y[len(y)/2], y[len(y)-1]}
}
