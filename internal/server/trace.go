package server

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/reqid"
)

// traceRequests makes each request a server span (docs/TRACING.md), the
// parent of the storage, commit and password spans made while serving it.
// A W3C traceparent from the caller is continued. It runs inside
// reqid.Middleware so the request id can be recorded, and only when
// tracing is on: off, the handler chain does not include it at all.
//
// Only the method, the path (never the query, which may carry codes),
// the route pattern, the status and the request id are recorded: no header
// is, so no credential can reach a span.
func traceRequests(tracer trace.Tracer, next http.Handler) http.Handler {
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		// The attributes are set after the sampler's decision (latchkey's
		// samplers read none), so a request left out builds none.
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		r = r.WithContext(ctx)
		if !span.IsRecording() {
			// Not sampled: the context still carries the trace on (to the
			// storage spans, which are not recorded either), but nothing
			// about the request or its answer is noted.
			next.ServeHTTP(w, r)
			return
		}
		span.SetAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("latchkey.request_id", reqid.From(ctx)),
		)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// The ServeMux has set the pattern on r by now; before routing the
		// span could only be named by its method.
		if r.Pattern != "" {
			route := routeOf(r.Pattern)
			span.SetName(r.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		} // else the method alone, as OpenTelemetry's conventions name an unrouted request: scanners' random paths must not each make a span name
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// routeOf strips the method from a ServeMux pattern ("POST /oauth2/token").
func routeOf(pattern string) string {
	if _, route, ok := strings.Cut(pattern, " "); ok {
		return route
	}
	return pattern
}
