package tracing

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/logbuf"
)

func noEnv(string) string { return "" }

func TestOffByDefault(t *testing.T) {
	tp, shutdown, err := Setup(context.Background(), Config{SampleRatio: 1, Getenv: noEnv})
	if err != nil || tp != nil {
		t.Fatalf("Setup with nothing configured: %v, %v; want a nil provider", tp, err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if Enabled(nil) || Enabled(noop.NewTracerProvider()) || Tracer(nil, "x") != nil {
		t.Fatal("nil and no-op providers must count as off")
	}
}

func TestBadSettings(t *testing.T) {
	for _, c := range []Config{{Endpoint: "collector:4318", SampleRatio: 1}, {Endpoint: "http://c:4318", SampleRatio: 2}} {
		c.Getenv = noEnv
		if _, _, err := Setup(context.Background(), c); err == nil {
			t.Errorf("Setup(%+v) accepted", c)
		}
	}
}

// TestExportsOverOTLPHTTP sends a span to a local OTLP sink and expects it
// at /v1/traces by the time shutdown returns, with the service name.
func TestExportsOverOTLPHTTP(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var bodies []byte
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths, bodies = append(paths, r.URL.Path+" "+r.Header.Get("Content-Type")), append(bodies, b...)
		mu.Unlock()
	}))
	defer sink.Close()
	tp, shutdown, err := Setup(context.Background(), Config{Endpoint: sink.URL, SampleRatio: 1, Getenv: noEnv})
	if err != nil || !Enabled(tp) {
		t.Fatalf("Setup: %v, %v", tp, err)
	}
	_, span := Tracer(tp, "test").Start(context.Background(), "test.span")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "/v1/traces application/x-protobuf" {
		t.Fatalf("sink got %v, want a POST to /v1/traces", paths)
	}
	for _, want := range []string{"test.span", ServiceName} {
		if !strings.Contains(string(bodies), want) {
			t.Errorf("exported spans lack %q", want)
		}
	}
}

// TestCollectorDown: with the collector down, ending spans does not wait
// for it (a request never does), shutdown returns by the end of its
// context, and the failed exports make one log line, not one per batch.
func TestCollectorDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	var logs logbuf.Buffer
	tp, shutdown, err := Setup(context.Background(), Config{Endpoint: endpoint, SampleRatio: 1, Getenv: noEnv,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	tr := Tracer(tp, "test")
	start := time.Now()
	for range 5000 { // more than one batch, so exports are attempted meanwhile
		_, span := tr.Start(context.Background(), "test.span")
		span.End()
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ending 5000 spans took %v with the collector down", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = shutdown(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v past its 300ms context", d)
	}
	t.Logf("shutdown: %v", err) // the SDK hands a failed final export to the error handler, not here
	if n := strings.Count(logs.String(), "tracing: spans not exported"); n != 1 || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("%d lines about failed exports, want one naming the cause:\n%s", n, logs.String())
	}
}

func TestErrorType(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("get client: %w", storage.ErrNotFound): "not_found",
		context.DeadlineExceeded:                          "deadline_exceeded",
		fmt.Errorf("pq: password=hunter2"):                "other",
	} {
		if got := ErrorType(err); got != want {
			t.Errorf("ErrorType(%v) = %q, want %q", err, got, want)
		}
	}
}
