package metrics

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey-dev/latchkey/internal/secrets"
)

// PasswordHashesRefresh is how often latchkey_password_hashes reads the
// accounts table at most; scrapes in between get the last counts. A count
// that took d waits at least hashesSpacing·d for the next, so on a large
// database the gauge costs at most about 1% of one core.
const PasswordHashesRefresh = time.Minute

const hashesSpacing = 100

// hashesTimeout bounds one count, so a slow database cannot hold a scrape.
const hashesTimeout = 10 * time.Second

// CountPasswordHashes publishes count, the number of accounts by password
// hash scheme (storage's CountPasswordSchemes), as
// latchkey_password_hashes{scheme}: how many accounts still carry an
// imported legacy hash. The count runs on a scrape, at most once per
// PasswordHashesRefresh, since it reads every account.
func (m *Metrics) CountPasswordHashes(count func(context.Context) (map[string]int64, error)) error {
	return m.reg.Register(newHashesCollector(count, time.Now))
}

type hashesCollector struct {
	desc  *prometheus.Desc
	count func(context.Context) (map[string]int64, error)
	now   func() time.Time

	mu     sync.Mutex // held through a count, so concurrent scrapes share it
	next   time.Time  // when the counts may be read again
	counts map[string]int64
}

func newHashesCollector(count func(context.Context) (map[string]int64, error), now func() time.Time) *hashesCollector {
	return &hashesCollector{count: count, now: now, desc: prometheus.NewDesc("latchkey_password_hashes",
		"Accounts by the scheme of their password hash: argon2id is latchkey's own, the others are imported "+
			"hashes not yet upgraded by a login, none is an account without a password. Refreshed at most once a minute.",
		[]string{"scheme"}, nil)}
}

func (c *hashesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *hashesCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); !now.Before(c.next) {
		// A failure waits for the next refresh too, so a database in trouble
		// is not counted at every scrape; the last counts stay.
		ctx, cancel := context.WithTimeout(context.Background(), hashesTimeout)
		counts, err := c.count(ctx)
		cancel()
		if err == nil {
			c.counts = counts
		}
		c.next = now.Add(max(PasswordHashesRefresh, hashesSpacing*c.now().Sub(now)))
	}
	if c.counts == nil {
		return // never counted: no samples rather than false zeros
	}
	// Every known scheme is published, at 0 when no account has it, so a
	// scheme's series reaches 0 once its last account is upgraded.
	for _, s := range slices.Concat(secrets.Schemes, []string{"none", "other"}) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.counts[s]), s)
	}
	for s, n := range c.counts {
		if !known(s) {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), s)
		}
	}
}

func known(s string) bool {
	return s == "none" || s == "other" || slices.Contains(secrets.Schemes, s)
}
