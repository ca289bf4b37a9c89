package tracing

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/latchkey-dev/latchkey/internal/storage"
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
