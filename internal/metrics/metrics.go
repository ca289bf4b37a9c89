// Package metrics is latchkey's Prometheus instrumentation: HTTP requests by
// route and status, group-commit batches, and the Go runtime and process
// collectors, on a registry of its own (nothing global), served at /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds latchkey's collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	batch    prometheus.Histogram
	commit   *prometheus.HistogramVec
}

// New returns the collectors, registered on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latchkey_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "latchkey_storage_commit_writes",
			Help:    "Writes that shared one group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		commit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latchkey_storage_commit_duration_seconds",
			Help:    "Time of one group-commit transaction, commit and sync included, by outcome.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 2},
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.batch, m.commit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the collectors live, for tests and for adding more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// CountPasswordChecks publishes checks, the number of password hashes the
// core has checked, as latchkey_password_checks_total.
func (m *Metrics) CountPasswordChecks(checks func() uint64) error {
	return m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "latchkey_password_checks_total",
		Help: "Password hashes checked (Argon2id work), for right, wrong and unknown logins alike.",
	}, func() float64 { return float64(checks()) }))
}

// CountShedLogins publishes shed, the number of logins refused because the
// password pool was full, as latchkey_logins_shed_total.
func (m *Metrics) CountShedLogins(shed func() uint64) error {
	return m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "latchkey_logins_shed_total",
		Help: "Logins refused with 503 because the password check pool was full.",
	}, func() float64 { return float64(shed()) }))
}

// ObserveRequest records one answered request. route is the ServeMux
// pattern that matched, so labels stay few whatever paths clients send.
func (m *Metrics) ObserveRequest(route string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveCommit records one group-commit transaction of writes writes.
func (m *Metrics) ObserveCommit(writes int, d time.Duration, err error) {
	m.batch.Observe(float64(writes))
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.commit.WithLabelValues(outcome).Observe(d.Seconds())
}
