package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/bench"
	"github.com/latchkey-dev/latchkey/internal/server"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the token endpoint against the bare Go HTTP stack on this machine",
		Long: `Starts the real server (this binary, serve --demo, on a fresh SQLite file or a
scratch PostgreSQL database) and a baseline process that answers a fixed token,
drives both with the same keep-alive load loop, alternating baseline and
scenario runs, and prints a table and one BENCH line per scenario and
concurrency. With --runs N each is measured N times and the run with the
median ratio is reported: on a shared machine single runs vary by ±15 %.
Every token the server answers is durably stored.

With --compare OTHER (another latchkey binary, say a build of main) there is
no baseline: this binary and OTHER run side by side, each scenario is run
against one and then the other, --runs times in alternating order, and the
medians of the pairs' ratios of throughput and of server CPU per request
(this over OTHER) are printed, with one COMPARE line each. Use --runs 10 or
more: a pair's ratio moves by about ±5 %, the median of 16 by about 1 %.
OTHER must use the same database schema version as this binary.

With --nodes N (PostgreSQL only) the server is N processes on one database,
as N nodes of one deployment behind a load balancer: worker connections go to
them in turn, and RSS and CPU are their sums. On one machine the nodes share
its cores with the database and the load, so this shows that scale-out works
and what a node costs, not what N machines would do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			d, _ := f.GetDuration("duration")
			if d < time.Second || d > 5*time.Minute {
				return fmt.Errorf("--duration %s must be between 1s and 5m", d)
			}
			var conc []int
			cs, _ := f.GetString("concurrency")
			for s := range strings.SplitSeq(cs, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 || n > 1000 {
					return fmt.Errorf("--concurrency %q must be a comma-separated list of 1 to 1000", cs)
				}
				conc = append(conc, n)
			}
			scenarios := bench.Scenarios
			if s, _ := f.GetString("scenario"); s != "" {
				scenarios = strings.Split(s, ",")
			}
			prefill, _ := f.GetInt("prefill")
			runs, _ := f.GetInt("runs")
			if runs < 1 || runs > 25 {
				return fmt.Errorf("--runs %d must be between 1 and 25", runs)
			}
			dbFlag, _ := f.GetString("db")
			if !f.Changed("db") {
				dbFlag = os.Getenv("LATCHKEY_BENCH_DB")
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			other, _ := f.GetString("compare")
			if other != "" {
				if st, err := os.Stat(other); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
					return fmt.Errorf("--compare %q must be an executable latchkey binary", other)
				}
			}
			nodes, _ := f.GetInt("nodes")
			if nodes < 1 || nodes > 8 {
				return fmt.Errorf("--nodes %d must be between 1 and 8", nodes)
			}
			if nodes > 1 && !strings.HasPrefix(dbFlag, "postgres") {
				return fmt.Errorf("--nodes %d needs a shared database: --db postgres://…", nodes)
			}
			return bench.Main(cmd.Context(), bench.Options{Exe: exe, DB: dbFlag, Duration: d, Concurrency: conc, Scenarios: scenarios,
				Prefill: prefill, Runs: runs, Compare: other, Nodes: nodes, Out: cmd.OutOrStdout(), Log: newLogger(cfg, os.Stderr)})
		},
	}
	f := cmd.Flags()
	f.Duration("duration", 10*time.Second, "length of each run (1s to 5m)")
	f.String("concurrency", "16,64", "concurrent keep-alive connections, comma-separated")
	f.String("scenario", "", "scenarios to run, comma-separated (default all: "+strings.Join(bench.Scenarios, ", ")+")")
	f.Int("prefill", 100000, "tokens stored before the client_credentials_prefilled scenario")
	f.String("compare", "", "another latchkey binary to measure this one against, in alternating pairs, instead of against the baseline")
	f.Int("nodes", 1, "server processes sharing one PostgreSQL database, the connections split evenly between them (scale-out; 1 to 8)")
	f.Int("runs", 1, "baseline and scenario pairs per scenario and concurrency (1 to 25); with more than one, the run with the median ratio is reported, with the ratio's range")
	return cmd
}

// newBaselineCmd is the bench's baseline process: a bare net/http token answer.
func newBaselineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "bench-baseline",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, _ := cmd.Flags().GetString("addr")
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "baseline listening on http://%s\n", ln.Addr())
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return server.Serve(cmd.Context(), ln, bench.Baseline(), newLogger(cfg, os.Stderr))
		},
	}
	cmd.Flags().String("addr", "127.0.0.1:0", "HOST:PORT to listen on")
	return cmd
}
