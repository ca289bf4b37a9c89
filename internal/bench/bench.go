package bench

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the scratch PostgreSQL database

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/backend"
)

// Scenarios lists every scenario, in the order they run.
var Scenarios = []string{"client_credentials", "password", "refresh_token", "authorization_code", "authorization_code_openid", "introspect", "client_credentials_prefilled"}

// Options configure a benchmark.
type Options struct {
	Exe         string // the latchkey binary to run as server and baseline
	DB          string // "" for a fresh SQLite file, or a postgres:// URL (a scratch database is made in it)
	Duration    time.Duration
	Concurrency []int
	Scenarios   []string
	Prefill     int
	Runs        int    // alternating baseline/scenario pairs per scenario and concurrency; medians are reported
	Compare     string // another latchkey binary: measure Exe against it, in pairs, instead of against the baseline
	Nodes       int    // server processes on one PostgreSQL database, the load split between them (0 means 1)
	Out         io.Writer
	Log         *slog.Logger
}

const (
	flexiti       = "flexitidemo"
	flexitiSecret = "77xde15a-9d33-4c15-930a-3se4b3as33e9"
	aston         = "test_client"
	astonSecret   = "asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj"
	astonRedirect = "https://youwebapp.com/oauth"
	benchClient   = "bench-client-credentials"
	benchSecret   = "lk_cs_bench-secret-for-client-credentials-only"
)

// Main runs the benchmark and prints the table and the BENCH lines.
func Main(ctx context.Context, o Options) error {
	if o.Compare != "" {
		return compare(ctx, o)
	}
	server, dbKind, stop, err := startServer(ctx, o.Exe, o.DB, o.Nodes)
	if err != nil {
		return err
	}
	defer stop()
	baseline, err := start(ctx, o.Exe, `baseline listening on (http://\S+)`, "bench-baseline", "--addr", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start baseline: %w", err)
	}
	defer baseline.stop()

	header := "scenario\tdb\tc\trps\tp50 ms\tp99 ms\terrors\tbaseline rps\tratio\tserver RSS MB\tserver CPU µs/req\tbaseline CPU µs/req\tbaseline p99 ms\t"
	return sweep(ctx, o, []*target{server}, header, func(sc string, c int) (string, string, error) {
		var bases, results []Result
		for range max(o.Runs, 1) {
			s, err := newScenario(ctx, sc, server.urls(), server.st, server.keys, c, o.Duration)
			if err != nil {
				return "", "", fmt.Errorf("scenario %s: %w", sc, err)
			}
			bases = append(bases, Run(ctx, c, o.Duration, []int{baseline.pid()}, s.baseline(baseline.url), func(int, int, []byte) bool { return true }))
			results = append(results, Run(ctx, c, o.Duration, server.pids(), s.next, s.check))
			if ctx.Err() != nil {
				return "", "", ctx.Err()
			}
		}
		base, res, errs, ratio, lo, hi := summarize(bases, results)
		ratios := fmt.Sprintf("%.3f", ratio)
		if len(results) > 1 {
			ratios += fmt.Sprintf(" (%.3f–%.3f)", lo, hi)
		}
		row := fmt.Sprintf("%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%d\t%.0f\t%s\t%.1f\t%.0f\t%.0f\t%.2f\t", sc, dbKind, c, res.RPS(), millis(res.P50), millis(res.P99),
			errs, base.RPS(), ratios, float64(res.PeakRSS)/(1<<20), micros(res.CPUPerRequest()), micros(base.CPUPerRequest()), millis(base.P99))
		line := fmt.Sprintf("BENCH scenario=%s db=%s c=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d baseline_rps=%.1f ratio=%.3f server_rss_mb=%.1f",
			sc, dbKind, c, res.RPS(), millis(res.P50), millis(res.P99), errs, base.RPS(), ratio, float64(res.PeakRSS)/(1<<20))
		return row, line, nil
	})
}

// sweep measures every scenario of o at every concurrency with measure,
// which returns a table row (tab-separated, as header is) and a
// machine-readable line; before the prefilled scenario it fills the token
// tables of targets. It prints the table, then the lines.
func sweep(ctx context.Context, o Options, targets []*target, header string, measure func(sc string, c int) (row, line string, err error)) error {
	tw := tabwriter.NewWriter(o.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, header)
	var lines []string
	for _, sc := range o.Scenarios {
		if sc == "client_credentials_prefilled" && o.Prefill > 0 {
			o.Log.Info("prefilling the token tables", "tokens", o.Prefill, "servers", len(targets))
			for _, t := range targets {
				if err := prefill(ctx, t.st, t.keys, o.Prefill); err != nil {
					return err
				}
			}
		}
		for _, c := range o.Concurrency {
			row, line, err := measure(sc, c)
			if err != nil {
				return err
			}
			fmt.Fprintln(tw, row)
			lines = append(lines, line)
		}
	}
	tw.Flush()
	fmt.Fprintln(o.Out)
	for _, l := range lines {
		fmt.Fprintln(o.Out, l)
	}
	return nil
}

// millis and micros express a duration in the units the output uses.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// target is a running server, one process or several on one database, and
// the store it uses, for setting up scenarios.
type target struct {
	nodes []*proc
	st    storage.Storage
	keys  *secrets.Keys
}

// urls are the nodes' base URLs.
func (t *target) urls() []string {
	u := make([]string, len(t.nodes))
	for i, n := range t.nodes {
		u[i] = n.url
	}
	return u
}

// pids are the nodes' process ids, whose CPU and memory a run adds up.
func (t *target) pids() []int {
	p := make([]int, len(t.nodes))
	for i, n := range t.nodes {
		p[i] = n.pid()
	}
	return p
}

// startServer starts exe as a demo server of nodes processes (at least
// one; more only on PostgreSQL) on a scratch database (see scratchDB) with
// the bench's client registered, and returns it, the database's kind and
// what stops it and removes the database.
func startServer(ctx context.Context, exe, db string, nodes int) (*target, string, func(), error) {
	dir, err := os.MkdirTemp("", "latchkey-bench-")
	if err != nil {
		return nil, "", nil, err
	}
	var undo []func()
	stop := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	fail := func(err error) (*target, string, func(), error) {
		stop()
		return nil, "", nil, err
	}
	dsn, dbKind, drop, err := scratchDB(ctx, db, dir)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, drop)
	if nodes > 1 && dbKind != "postgres" {
		return fail(fmt.Errorf("%d nodes need a shared PostgreSQL database (--db postgres://…)", nodes))
	}
	secretFile := filepath.Join(dir, "secret")
	t := &target{}
	// One after the other: the first loads the demo data, the others find it
	// there. All share the system secret, as the nodes of one deployment do.
	for range max(nodes, 1) {
		server, err := start(ctx, exe, `latchkey listening on (http://\S+)`, "serve", "--demo", "--addr", "127.0.0.1:0",
			"--db", dsn, "--secret-file", secretFile, "--log-level", "warn")
		if err != nil {
			return fail(fmt.Errorf("start server %s: %w", exe, err))
		}
		undo = append(undo, server.stop)
		t.nodes = append(t.nodes, server)
	}
	// The scenarios are set up through this build's storage layer, so a
	// build compared with this one must use the same schema version.
	st, keys, err := openStore(ctx, dsn, secretFile)
	if err != nil {
		return fail(fmt.Errorf("open the database of %s with this build (a compared build must share its schema version): %w", exe, err))
	}
	undo = append(undo, func() { st.Close() })
	// A plain RFC 6749 client for the client_credentials scenarios: no refresh
	// token (the Flexiti demo client gets one, as its seed shows).
	if err := st.CreateClient(ctx, storage.Client{ID: benchClient, Name: "bench", SecretHash: keys.HashClientSecret(benchSecret),
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"merchant"}, DefaultScopes: []string{"merchant"},
		AccessTokenTTL: 20 * time.Minute, MerchantID: "123456", AccountKind: storage.Staff, AccessTokenFormat: "opaque",
		CreatedAt: time.Now()}); err != nil {
		return fail(fmt.Errorf("create the bench client: %w", err))
	}
	t.st, t.keys = st, keys
	if len(t.nodes) > 1 {
		dbKind = fmt.Sprintf("%s_x%d", dbKind, len(t.nodes))
	}
	return t, dbKind, stop, nil
}

// proc is a child process that printed the URL it listens on.
type proc struct {
	cmd *exec.Cmd
	url string
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func start(ctx context.Context, exe, pattern string, args ...string) (*proc, error) {
	cmd := exec.Command(exe, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	re := regexp.MustCompile(pattern)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return &proc{cmd: cmd, url: u}, nil
	case <-time.After(60 * time.Second):
	case <-ctx.Done():
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("%s did not start: %s", args[0], strings.TrimSpace(stderr.String()))
}

// scratchDB returns the database the server uses: a fresh SQLite file, or a
// scratch PostgreSQL database created on the server dsn names, dropped
// afterwards. The database dsn names need not exist: then the scratch one is
// created from the server's maintenance database.
func scratchDB(ctx context.Context, dsn, dir string) (string, string, func(), error) {
	if dsn == "" || strings.HasPrefix(dsn, "sqlite:") {
		return "sqlite:" + filepath.Join(dir, "bench.db"), "sqlite", func() {}, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", nil, fmt.Errorf("db: %w", err)
	}
	admin, err := adminDB(ctx, *u)
	if err != nil {
		return "", "", nil, err
	}
	name := "latchkey_bench_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(secrets.RandomID("")))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", "", nil, fmt.Errorf("create scratch database: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.ExecContext(c, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	return u.String(), "postgres", drop, nil
}

// adminDB connects to the database u names to create and drop the scratch
// database, or, when that one does not exist, to the server's maintenance
// database ("postgres", or "template1" where that was dropped).
func adminDB(ctx context.Context, u url.URL) (*sql.DB, error) {
	named := strings.TrimPrefix(u.Path, "/")
	var last error
	for _, name := range []string{named, "postgres", "template1"} {
		if name == "" {
			continue
		}
		u.Path = "/" + name
		db, err := sql.Open("pgx", u.String())
		if err != nil {
			return nil, fmt.Errorf("db %s: %w", u.Redacted(), err)
		}
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = db.PingContext(c)
		cancel()
		if err == nil {
			return db, nil
		}
		db.Close()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "3D000" { // invalid_catalog_name: no such database
			return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
		}
		last = err
	}
	return nil, fmt.Errorf("connect to PostgreSQL to create the scratch database: %w", last)
}

func openStore(ctx context.Context, dsn, secretFile string) (storage.Storage, *secrets.Keys, error) {
	secret, _, err := config.Config{SecretFile: secretFile}.SystemSecret(false)
	if err != nil {
		return nil, nil, err
	}
	keys, err := secrets.NewKeys(secret)
	if err != nil {
		return nil, nil, err
	}
	db, err := config.ParseDB(dsn)
	if err != nil {
		return nil, nil, err
	}
	st, err := backend.Open(ctx, db.Driver, db.Source(), backend.Options{Logger: slog.New(slog.DiscardHandler)})
	return st, keys, err
}

// prefill stores n tokens, as if the server had issued them, from many writers.
func prefill(ctx context.Context, st storage.Storage, keys *secrets.Keys, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	now := time.Now()
	per := (n + 63) / 64
	for w := range 64 {
		wg.Go(func() {
			for i := w * per; i < min(n, (w+1)*per); i++ {
				_, id := keys.NewToken(secrets.AccessTokenKind)
				t := storage.AccessToken{ID: id, FamilyID: "prefill", ClientID: flexiti, Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "123456"},
					Scopes: []string{"merchant"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := st.CreateTokens(ctx, storage.TokenSet{Access: &t}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// scenario is one kind of request, per worker.
type scenario struct {
	bases   []string // the server's URLs, one per node; worker w uses bases[w%len(bases)]
	body    func(w int) string
	fixed   string // the baseline's body, when body has side effects (consumes codes)
	user    string
	secret  string
	path    string
	onOK    func(w int, body []byte)
	stopped func(w int) bool
}

func basic(user, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(user)+":"+url.QueryEscape(secret)))
}

func (s *scenario) request(base string, w int) *http.Request {
	if s.stopped != nil && s.stopped(w) {
		return nil
	}
	req, _ := http.NewRequest(http.MethodPost, base+s.path, strings.NewReader(s.body(w)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic(s.user, s.secret))
	return req
}

func (s *scenario) next(w int) *http.Request { return s.request(s.bases[w%len(s.bases)], w) }

func (s *scenario) baseline(u string) Request {
	return func(w int) *http.Request {
		body := s.fixed
		if body == "" {
			body = s.body(w)
		}
		req, _ := http.NewRequest(http.MethodPost, u+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic(s.user, s.secret))
		return req
	}
}

func (s *scenario) check(w, status int, body []byte) bool {
	if status != http.StatusOK {
		return false
	}
	if s.onOK != nil {
		s.onOK(w, body)
	}
	return true
}
