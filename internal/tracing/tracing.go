// Package tracing sets up OpenTelemetry tracing (docs/TRACING.md) and holds
// the small helpers the instrumented packages share. Tracing is off unless
// an OTLP endpoint is configured; then Setup returns nil, and every package
// takes a nil trace.TracerProvider as off and adds nothing to its hot path,
// not even a no-op tracer's calls. The provider is passed down through each
// package's options, not set globally; the one global Setup touches, with
// tracing on, is OpenTelemetry's error handler (see Config.Logger).
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/latchkey-dev/latchkey/internal/logevery"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// ServiceName is the service.name of latchkey's spans.
const ServiceName = "latchkey"

// Config says whether and where spans are exported.
type Config struct {
	// Endpoint is the OTLP/HTTP collector, a URL such as
	// http://collector:4318 (the traces path /v1/traces is added when the
	// URL has none). Empty: the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	// or OTEL_EXPORTER_OTLP_ENDPOINT, and with neither, tracing is off.
	Endpoint string
	// SampleRatio is the share of new traces recorded, 0 to 1. A request
	// that continues a caller's trace (traceparent) follows the caller's
	// decision instead.
	SampleRatio float64
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
	// Logger receives the exporter's failures (a collector that is down),
	// at most one line per ErrorLogInterval; slog.Default() when nil.
	// OpenTelemetry's own handler would print one plain line per failed
	// batch, many a second under load.
	Logger *slog.Logger
}

// ErrorLogInterval is the least time between two lines about failed exports.
const ErrorLogInterval = 10 * time.Second

// Setup builds the tracer provider cfg asks for: OTLP over HTTP through a
// batch span processor, so a request never waits for an export. The
// exporter honours the other standard OTEL_EXPORTER_OTLP_* variables
// (headers, timeout, certificates, compression). With tracing off it
// returns a nil provider and a shutdown that does nothing. shutdown
// flushes the spans still buffered; call it on exit.
func Setup(ctx context.Context, cfg Config) (tp trace.TracerProvider, shutdown func(context.Context) error, err error) {
	nothing := func(context.Context) error { return nil }
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if cfg.Endpoint == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return nil, nothing, nil
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, nothing, fmt.Errorf("tracing: sample ratio %v is not between 0 and 1", cfg.SampleRatio)
	}
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nothing, fmt.Errorf("tracing: OTLP endpoint %q is not an http or https URL", cfg.Endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces" // the exporter would post to / otherwise
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	otel.SetErrorHandler(&errorLog{log: logger})
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nothing, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read last, may rename the service.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", ServiceName), attribute.String("service.version", Version())),
		resource.WithFromEnv())
	if err != nil && res == nil {
		return nil, nothing, fmt.Errorf("tracing: resource: %w", err)
	}
	p := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return p, func(ctx context.Context) error {
		if err := p.Shutdown(ctx); err != nil {
			return fmt.Errorf("tracing: flush spans: %w", err)
		}
		return nil
	}, nil
}

// errorLog is the OpenTelemetry error handler Setup installs: a line at
// most once per ErrorLogInterval, counting the failures it stands for.
type errorLog struct {
	log   *slog.Logger
	every logevery.Limiter
}

func (e *errorLog) Handle(err error) {
	if n, _, ok := e.every.Note(time.Now(), ErrorLogInterval); ok {
		e.log.Warn("tracing: spans not exported", "err", err, "failures", n)
	}
}

// Version is the module version the binary was built from, or "devel".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// Enabled reports whether tp records anything: false for nil and for the
// no-op provider, so callers can leave their instrumentation out entirely.
func Enabled(tp trace.TracerProvider) bool {
	if tp == nil {
		return false
	}
	switch tp.(type) {
	case noop.TracerProvider, *noop.TracerProvider:
		return false
	}
	return true
}

// Tracer is tp's tracer for the named package, or nil when tracing is off
// (see Enabled); instrumented code tests for nil.
func Tracer(tp trace.TracerProvider, pkg string) trace.Tracer {
	if !Enabled(tp) {
		return nil
	}
	return tp.Tracer("github.com/latchkey-dev/latchkey/" + pkg)
}

// End ends span, marking it failed when err is not nil. The error's kind
// goes in error.type, never its text: a driver's message may quote values.
func End(span trace.Span, err error) {
	if err != nil {
		kind := ErrorType(err)
		span.SetAttributes(attribute.String("error.type", kind))
		span.SetStatus(codes.Error, kind)
	}
	span.End()
}

// ErrorType names err's kind for error.type: the storage outcome it is,
// a context's end, or "other".
func ErrorType(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}

var errorKinds = []struct {
	err  error
	name string
}{
	{storage.ErrNotFound, "not_found"},
	{storage.ErrAlreadyExists, "already_exists"},
	{storage.ErrInUse, "in_use"},
	{storage.ErrAlreadyUsed, "already_used"},
	{storage.ErrExpired, "expired"},
	{storage.ErrRevoked, "revoked"},
	{storage.ErrTokenReused, "token_reused"},
	{storage.ErrNotPending, "not_pending"},
	{context.DeadlineExceeded, "deadline_exceeded"},
	{context.Canceled, "canceled"},
}
