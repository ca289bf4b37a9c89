package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/faultproxy"
	"github.com/latchkey-dev/latchkey/internal/testutil/logbuf"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// These tests put a TCP proxy between latchkey and PostgreSQL, load the
// server with token and introspection requests, break the database under
// it, heal it, and check the promise of docs/RELIABILITY.md:
// every request, in flight or new, is answered 503 temporarily_unavailable
// with Retry-After within 2 s, never a 500, a hang or an empty reply;
// /readyz goes 503; the log says so a few times, not once per request;
// service resumes by itself; no token answered 200 is lost. Each prints its
// figures (docs/RELIABILITY.md):
//
//	LATCHKEY_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test -run TestDatabaseFault -v ./internal/server/

// answerWithin is the promise; the clients' timeout, so a late answer fails.
const answerWithin = 2 * time.Second

const (
	faultClients = 64 // token and introspection clients during a fault
	flexitiID    = "flexitidemo"
	flexitiKey   = "77xde15a-9d33-4c15-930a-3se4b3as33e9"
	failureLine  = "requests failing, answering 503 temporarily_unavailable"
)

// TestDatabaseFaultStall: the database stops answering (bytes held both
// ways, as with a SIGSTOPped server or a lost network path).
func TestDatabaseFaultStall(t *testing.T) {
	runFault(t, "stall", 3*time.Second, func(p *faultproxy.Proxy) { p.Set(faultproxy.Stall) })
}

// TestDatabaseFaultRefuse: the database goes away: every open connection is
// reset and new ones are refused.
func TestDatabaseFaultRefuse(t *testing.T) {
	runFault(t, "refuse", 2*time.Second, func(p *faultproxy.Proxy) {
		p.Set(faultproxy.Refuse)
		p.ResetAll()
	})
}

// result is one request's answer.
type result struct {
	kind       string // token, introspect, readyz
	start, end time.Time
	status     int
	retryAfter string
	errCode    string // "error" of a JSON answer; "status" of /readyz
	active     bool   // introspection's
	token      string // an access token answered 200
	err        error  // no answer in time, or an empty reply
}

type rig struct {
	t      *testing.T
	site   *demoserver.Site
	proxy  *faultproxy.Proxy
	logs   *logbuf.Buffer
	client *http.Client
}

func newRig(t *testing.T) *rig {
	proxy, pdsn := faultproxy.Before(t, pgtest.DSN(t))
	logs := &logbuf.Buffer{}
	site := demoserver.Start(t, demoserver.Options{DSN: pdsn, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	tr := &http.Transport{MaxIdleConnsPerHost: faultClients + 8}
	t.Cleanup(tr.CloseIdleConnections)
	return &rig{t: t, site: site, proxy: proxy, logs: logs, client: &http.Client{Timeout: answerWithin, Transport: tr}}
}

func (r *rig) post(kind, path string, form url.Values) result {
	res := result{kind: kind, start: time.Now()}
	resp, err := r.client.PostForm(r.site.URL+path, form)
	if err == nil {
		res = r.read(res, resp)
	}
	res.end, res.err = time.Now(), err
	return res
}

func (r *rig) read(res result, resp *http.Response) result {
	defer resp.Body.Close()
	var body struct {
		Error, Status string
		AccessToken   string `json:"access_token"`
		Active        bool
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		res.err = err
		return res
	}
	json.Unmarshal(b, &body)
	res.status, res.retryAfter, res.active = resp.StatusCode, resp.Header.Get("Retry-After"), body.Active
	res.errCode = body.Error
	if res.kind == "readyz" {
		res.errCode = body.Status
	}
	if res.kind == "token" && res.status == http.StatusOK {
		res.token = body.AccessToken
	}
	return res
}

func (r *rig) token() result {
	return r.post("token", "/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {flexitiID}, "client_secret": {flexitiKey}})
}

func (r *rig) introspect(tok string) result {
	return r.post("introspect", "/oauth2/introspect", url.Values{"token": {tok},
		"client_id": {flexitiID}, "client_secret": {flexitiKey}})
}

func (r *rig) ready() result {
	res := result{kind: "readyz", start: time.Now()}
	resp, err := r.client.Get(r.site.URL + "/readyz")
	if err == nil {
		res = r.read(res, resp)
	}
	res.end, res.err = time.Now(), err
	return res
}

// load runs token and introspection clients and a /readyz prober.
type load struct {
	mu      sync.Mutex
	results []result
	healed  time.Time     // set when the fault ends
	back    chan struct{} // closed at the first token answered 200 after healed
	stop    chan struct{}
	wg      sync.WaitGroup
}

func (r *rig) startLoad(seed string) *load {
	l := &load{back: make(chan struct{}), stop: make(chan struct{})}
	record := func(res result) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.results = append(l.results, res)
		if res.kind == "token" && res.status == http.StatusOK && !l.healed.IsZero() && res.start.After(l.healed) {
			select {
			case <-l.back:
			default:
				close(l.back)
			}
		}
	}
	stopped := func() bool {
		select {
		case <-l.stop:
			return true
		default:
			return false
		}
	}
	for range faultClients {
		l.wg.Go(func() {
			last := seed
			for !stopped() {
				res := r.token()
				if res.token != "" {
					last = res.token
				}
				record(res)
				if !stopped() {
					record(r.introspect(last))
				}
			}
		})
	}
	l.wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !stopped() {
			record(r.ready())
			select {
			case <-tick.C:
			case <-l.stop:
			}
		}
	})
	return l
}

func (l *load) heal(at time.Time) {
	l.mu.Lock()
	l.healed = at
	l.mu.Unlock()
}

func (l *load) finish() []result {
	close(l.stop)
	l.wg.Wait()
	return l.results
}

// signIn logs in to the demo SPA's authorization page, so a later visit
// reads its browser session from the database.
func (r *rig) signIn() (*http.Client, string) {
	r.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: answerWithin, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := r.site.URL + "/oauth2/authorize?" + url.Values{"client_id": {"demo-spa"}, "response_type": {"code"},
		"redirect_uri": {"http://127.0.0.1:8080/callback"}, "state": {"s1"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
	resp, err := c.Get(page)
	if err != nil {
		r.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action, fields := webtest.Form(string(body))
	if resp.StatusCode != http.StatusOK || action == "" {
		r.t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}
	fields.Set("username", "acmejewellers")
	fields.Set("password", "dice-vanila-purse")
	resp, err = c.PostForm(r.site.URL+action, fields)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("login: %d", resp.StatusCode)
	}
	return c, page
}

func runFault(t *testing.T, name string, hold time.Duration, inject func(*faultproxy.Proxy)) {
	r := newRig(t)
	seed := r.token()
	if seed.status != http.StatusOK {
		t.Fatalf("first token: %+v", seed)
	}
	browser, page := r.signIn()

	l := r.startLoad(seed.token)
	warm := time.NewTimer(500 * time.Millisecond)
	<-warm.C
	faultAt := time.Now()
	inject(r.proxy)

	// A page that needs the database is answered in time with a 503 page
	// and Retry-After, whichever read fails (the client's first, in
	// oauth.Server.ParseAuthorize; later ones through web.Handler.fail).
	pageStart := time.Now()
	resp, err := browser.Get(page)
	if err != nil {
		t.Fatalf("%s: authorization page with a session: no answer within %v: %v", name, answerWithin, err)
	}
	resp.Body.Close()
	pageTook, pageStatus := time.Since(pageStart), resp.StatusCode
	if pageStatus != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: authorization page with a session during the fault: %d, Retry-After %q; want 503 with Retry-After",
			name, pageStatus, resp.Header.Get("Retry-After"))
	}

	held := time.NewTimer(hold - time.Since(faultAt))
	<-held.C
	healAt := time.Now()
	l.heal(healAt)
	r.proxy.Set(faultproxy.Forward)
	select {
	case <-l.back:
	case <-time.After(10 * time.Second):
		t.Errorf("%s: no token answered 200 within 10 s of healing", name)
	}
	settle := time.NewTimer(500 * time.Millisecond) // of load on the healed database
	<-settle.C
	results := l.finish()

	// Every request was answered in time, with 200 or an honest 503.
	var failed, inFlight, inFlight503 int
	statuses := map[string]map[int]int{}
	var first503, slowest time.Duration
	firstBack := map[string]time.Duration{}
	var answered []string
	for _, res := range results {
		if res.err != nil {
			t.Errorf("%s: %s request started %v after the fault: %v", name, res.kind, res.start.Sub(faultAt).Round(time.Millisecond), res.err)
			continue
		}
		if statuses[res.kind] == nil {
			statuses[res.kind] = map[int]int{}
		}
		statuses[res.kind][res.status]++
		if res.end.After(faultAt) && res.start.Before(healAt) {
			slowest = max(slowest, res.end.Sub(res.start))
		}
		if res.start.Before(faultAt) && res.end.After(faultAt) {
			inFlight++
		}
		switch res.status {
		case http.StatusOK:
			if d, ok := firstBack[res.kind]; res.start.After(healAt) && (!ok || res.end.Sub(healAt) < d) {
				firstBack[res.kind] = res.end.Sub(healAt)
			}
			if res.kind == "introspect" && !res.active {
				t.Errorf("%s: a token answered 200 introspected inactive", name)
			}
			if res.token != "" {
				answered = append(answered, res.token)
			}
		case http.StatusServiceUnavailable:
			failed++
			if res.start.Before(faultAt) {
				inFlight503++
			}
			if res.start.Before(faultAt) && res.end.Before(faultAt) {
				t.Errorf("%s: %s answered 503 before the fault", name, res.kind)
			}
			if d := res.end.Sub(faultAt); first503 == 0 || d < first503 {
				first503 = d
			}
			want := "temporarily_unavailable"
			if res.kind == "readyz" {
				want = "unavailable"
			}
			if res.retryAfter == "" || res.errCode != want {
				t.Errorf("%s: %s answered 503 with Retry-After %q and %q; want Retry-After and %s", name, res.kind, res.retryAfter, res.errCode, want)
			}
		default:
			t.Errorf("%s: %s answered %d (%s); want 200 or 503", name, res.kind, res.status, res.errCode)
		}
	}
	for _, kind := range []string{"token", "introspect", "readyz"} {
		if statuses[kind][http.StatusServiceUnavailable] == 0 {
			t.Errorf("%s: no %s request was answered 503 during the fault", name, kind)
		}
		if _, ok := firstBack[kind]; !ok {
			t.Errorf("%s: no %s request was answered 200 after healing", name, kind)
		}
	}
	// Once service resumed, how many answers were still not 200 (reported);
	// and on the healed database, every request succeeds.
	resumed := healAt.Add(firstBack["token"])
	late := 0
	for _, res := range results {
		if res.err == nil && res.status != http.StatusOK && res.start.After(resumed) {
			late++
		}
	}
	for _, res := range []result{r.token(), r.introspect(seed.token), r.ready()} {
		if res.err != nil || res.status != http.StatusOK {
			t.Errorf("%s: %s after healing: %d %v", name, res.kind, res.status, res.err)
		}
	}
	if resp, err := browser.Get(page); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("%s: authorization page with a session after healing: %v %v", name, resp, err)
	} else {
		resp.Body.Close()
	}

	// No token answered 200, before or during the fault, is lost.
	lost := r.lost(answered)
	if lost > 0 {
		t.Errorf("%s: %d of %d tokens answered 200 are no longer active", name, lost, len(answered))
	}

	// The log says the database is down a few times, not once per request.
	lines, other := countLines(r.logs, failureLine)
	if lines == 0 || lines > 3 {
		t.Errorf("%s: %d %q lines for %d failed requests; want 1 to 3", name, lines, failureLine, failed)
	}
	if len(other) > 2 {
		t.Errorf("%s: %d other warning or error lines, e.g.:\n%s", name, len(other), strings.Join(other[:min(5, len(other))], "\n"))
	}
	if failed < 100 {
		t.Errorf("%s: only %d requests failed; the log check needs hundreds", name, failed)
	}

	t.Logf("%s: %d clients; fault held %v; statuses token %v, introspect %v, readyz %v; "+
		"in flight at the fault %d (%d answered 503); first 503 after %v; slowest answer while faulty %v (limit %v); "+
		"authorization page with a session %d in %v; after healing first 200 in %v (token), %v (introspect), %v (readyz); "+
		"non-200 answers started after that %d; tokens answered 200: %d, lost %d; %d failed requests logged in %d line(s), %d other warnings",
		name, faultClients, hold, statuses["token"], statuses["introspect"], statuses["readyz"],
		inFlight, inFlight503, first503.Round(time.Millisecond), slowest.Round(time.Millisecond), answerWithin,
		pageStatus, pageTook.Round(time.Millisecond), firstBack["token"].Round(time.Millisecond), firstBack["introspect"].Round(time.Millisecond),
		firstBack["readyz"].Round(time.Millisecond), late, len(answered), lost, failed, lines, len(other))
}

// lost introspects every token and counts those no longer active.
func (r *rig) lost(tokens []string) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	lost := 0
	next := make(chan string)
	for range 16 {
		wg.Go(func() {
			for tok := range next {
				res := r.introspect(tok)
				if res.err != nil || res.status != http.StatusOK {
					r.t.Errorf("introspection after healing: %+v", res)
				}
				if !res.active {
					mu.Lock()
					lost++
					mu.Unlock()
				}
			}
		})
	}
	for _, tok := range tokens {
		next <- tok
	}
	close(next)
	wg.Wait()
	return lost
}

// countLines returns how many JSON log lines of logs have msg, and the other lines at
// WARN or above.
func countLines(logs *logbuf.Buffer, msg string) (int, []string) {
	n := 0
	var other []string
	for line := range strings.Lines(logs.String()) {
		var l struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		switch {
		case l.Msg == msg:
			n++
		case slices.Contains([]string{"WARN", "ERROR"}, l.Level):
			other = append(other, strings.TrimSpace(line))
		}
	}
	return n, other
}
