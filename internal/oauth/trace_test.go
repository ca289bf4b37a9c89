package oauth

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestShedLoginSpan: a login refused before it reached the pool is a
// "password.check" span refused with pool_full too, and its answer is 503
// with a Retry-After of 1 to 4 s.
func TestShedLoginSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	s := &Server{pool: newPool(1, 0, time.Second), held: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
	s.pool.tracer = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)).Tracer("test")
	oerr := s.shedLogin(context.Background())
	if oerr.Status != 503 || oerr.RetryAfter < time.Second || oerr.RetryAfter > 4*time.Second {
		t.Fatalf("shed login: %d Retry-After %v; want 503 with 1 to 4 s", oerr.Status, oerr.RetryAfter)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "password.check" {
		t.Fatalf("spans %v; want one password.check", spans)
	}
	kind := ""
	for _, a := range spans[0].Attributes {
		if a.Key == "error.type" {
			kind = a.Value.Emit()
		}
	}
	if kind != "pool_full" || s.ShedLogins() != 1 {
		t.Errorf("error.type %q, %d shed; want pool_full and 1", kind, s.ShedLogins())
	}
}

// TestPasswordCheckSpan: a check that runs and one refused by a full pool
// are each a "password.check" span with the time waited for a worker.
func TestPasswordCheckSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := newPool(1, 0, time.Second)
	p.tracer = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)).Tracer("test")

	release, running, first := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() { first <- p.do(context.Background(), func(bool) { close(running); <-release }) }()
	<-running // the only worker is busy and there is no queue
	if err := p.do(context.Background(), func(bool) { t.Error("ran on a full pool") }); !errors.Is(err, errBusy) {
		t.Fatalf("full pool: %v, want errBusy", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := p.do(context.Background(), func(bool) {}); err != nil {
		t.Fatal(err)
	}
	var ok, busy int
	for _, s := range exp.GetSpans() {
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.Emit()
		}
		if s.Name != "password.check" || attrs["latchkey.password.queue_wait_ms"] == "" {
			t.Errorf("span %s %v, want password.check with latchkey.password.queue_wait_ms", s.Name, attrs)
		}
		if attrs["error.type"] == "pool_full" {
			busy++
		} else if attrs["latchkey.password.queued"] != "" {
			ok++
		}
	}
	if ok != 2 || busy != 1 {
		t.Errorf("%d checks run and %d refused spans; want 2 and 1", ok, busy)
	}
}
