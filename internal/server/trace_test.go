package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/storage/traced"
)

// The demo's Flexiti client (docs/DEMO.md), as bench_test.go uses it.
const (
	traceClientID     = "flexitidemo"
	traceClientSecret = "77xde15a-9d33-4c15-930a-3se4b3as33e9"
)

// tracedServer starts the real server on a SQLite file with the demo data,
// tracing into an in-memory exporter, store and server alike; opts are
// the provider's further options (a sampler).
func tracedServer(t *testing.T, opts ...sdktrace.TracerProviderOption) (*httptest.Server, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSyncer(exp)}, opts...)...)
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	ts := demoServer(t, sqlstore.Options{TracerProvider: tp}, Options{Issuer: "http://trace", TracerProvider: tp})
	exp.Reset() // drop the demo load's commits
	return ts, exp
}

// tokenRequest asks for a client_credentials token; traceparent, when set,
// is sent as the caller's trace context.
func tokenRequest(t *testing.T, base, traceparent string) (requestID, accessToken string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {traceClientID}, "client_secret": {traceClientSecret}}
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token request: %d %s", resp.StatusCode, body)
	}
	if requestID = resp.Header.Get("X-Request-Id"); requestID == "" {
		t.Fatal("no X-Request-Id in the answer")
	}
	return requestID, tok.AccessToken
}

// serverSpan waits for the request's server span: it ends after the
// answer is written, so possibly after the client has read it.
func serverSpan(t *testing.T, exp *tracetest.InMemoryExporter) tracetest.SpanStub {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, s := range exp.GetSpans() {
			if s.SpanKind == trace.SpanKindServer {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server span within 5s; spans: %v", spanNames(exp.GetSpans()))
		}
		time.Sleep(5 * time.Millisecond) // polling, bounded by the deadline
	}
}

func TestTracingTokenRequest(t *testing.T) {
	ts, exp := tracedServer(t)
	requestID, accessToken := tokenRequest(t, ts.URL, "")
	root := serverSpan(t, exp)
	spans := exp.GetSpans()
	t.Logf("spans: %v", spanNames(spans))

	if root.Name != "POST /oauth2/token" || root.Parent.IsValid() {
		t.Errorf("server span %q (parent %v), want a root span POST /oauth2/token", root.Name, root.Parent)
	}
	attrs := attrMap(root)
	for k, want := range map[string]string{"http.request.method": "POST", "url.path": "/oauth2/token",
		"http.route": "/oauth2/token", "http.response.status_code": "200", "latchkey.request_id": requestID} {
		if attrs[k] != want {
			t.Errorf("server span %s = %q, want %q", k, attrs[k], want)
		}
	}

	// Every other span of the request descends from the server span.
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	descends := func(s tracetest.SpanStub) bool {
		for p := s.Parent; p.IsValid(); p = byID[p.SpanID()].Parent {
			if p.SpanID() == root.SpanContext.SpanID() {
				return true
			}
			if _, ok := byID[p.SpanID()]; !ok {
				return false
			}
		}
		return false
	}
	var storageSpans, commits int
	for _, s := range spans {
		if s.SpanContext.SpanID() == root.SpanContext.SpanID() {
			continue
		}
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() || !descends(s) {
			t.Errorf("span %s is not in the request's trace under its server span", s.Name)
		}
		switch {
		case s.Name == "storage.commit":
			commits++
			if attrMap(s)["latchkey.commit.writes"] == "" {
				t.Errorf("storage.commit has no latchkey.commit.writes: %v", s.Attributes)
			}
		case strings.HasPrefix(s.Name, "storage."):
			storageSpans++
			if s.Parent.SpanID() != root.SpanContext.SpanID() {
				t.Errorf("%s is not a direct child of the server span", s.Name)
			}
		}
	}
	if storageSpans == 0 || commits == 0 {
		t.Errorf("want storage call spans and a storage.commit span; got %v", spanNames(spans))
	}

	// No credential reaches a span, whatever its attribute.
	for _, s := range spans {
		for _, a := range s.Attributes {
			v := a.Value.Emit()
			if strings.Contains(v, traceClientSecret) || strings.Contains(v, accessToken) {
				t.Errorf("span %s attribute %s holds a credential", s.Name, a.Key)
			}
		}
	}
}

func TestTracingContinuesCallersTrace(t *testing.T) {
	ts, exp := tracedServer(t)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tokenRequest(t, ts.URL, "00-"+traceID+"-"+parentID+"-01")
	root := serverSpan(t, exp)
	if got := root.SpanContext.TraceID().String(); got != traceID {
		t.Errorf("server span trace id %s, want the caller's %s", got, traceID)
	}
	if got := root.Parent.SpanID().String(); got != parentID || !root.Parent.IsRemote() {
		t.Errorf("server span parent %s (remote %v), want the caller's span %s", got, root.Parent.IsRemote(), parentID)
	}
}

func attrMap(s tracetest.SpanStub) map[string]string {
	m := map[string]string{}
	for _, a := range s.Attributes {
		m[string(a.Key)] = a.Value.Emit()
	}
	return m
}

func spanNames(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// TestTracingUnroutedPathNotInSpanName: a scanner's random path does not
// become a span name (it stays in url.path only), so names stay few.
func TestTracingUnroutedPathNotInSpanName(t *testing.T) {
	ts, exp := tracedServer(t)
	resp, err := http.Get(ts.URL + "/no-such-path-5f1c9")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := serverSpan(t, exp)
	if strings.Contains(s.Name, "no-such-path") || !strings.HasPrefix(s.Name, "GET") {
		t.Fatalf("span of an unrouted request is named %q", s.Name)
	}
	if attrMap(s)["url.path"] != "/no-such-path-5f1c9" {
		t.Fatalf("url.path %q", attrMap(s)["url.path"])
	}
}

// TestTracingUnsampled: a request the sampler leaves out is answered as
// usual and records no span, its own or its storage calls'.
func TestTracingUnsampled(t *testing.T) {
	ts, exp := tracedServer(t, sdktrace.WithSampler(sdktrace.NeverSample()))
	tokenRequest(t, ts.URL, "")
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Fatalf("an unsampled request recorded %v", spanNames(spans))
	}
}

// TestTracingOffAddsNothing: without a TracerProvider the store is not
// wrapped and no middleware reads the caller's traceparent, so a handler
// sees no span in its context.
func TestTracingOffAddsNothing(t *testing.T) {
	s, _ := newTestServer(t, slog.New(slog.DiscardHandler))
	if _, wrapped := s.store.(*traced.Store); wrapped || s.tracer != nil {
		t.Fatalf("tracing off: store %T, tracer %v; want the store itself and no tracer", s.store, s.tracer)
	}
	var sc trace.SpanContext
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		sc = trace.SpanContextFromContext(r.Context())
	})
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	w := httptest.NewRecorder()
	s.middleware(mux, nil).ServeHTTP(w, req)
	if w.Code != http.StatusOK || sc.IsValid() {
		t.Fatalf("tracing off: %d, span context %v; want 200 and none", w.Code, sc)
	}
}
