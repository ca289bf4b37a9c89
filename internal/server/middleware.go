package server

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
)

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	// The keys are canonical and the value slices shared: Header.Set would
	// canonicalize and allocate four slices on every request. Sharing is
	// safe because a slice of full capacity is copied by any append (Add),
	// and Set replaces it.
	fixed := [...]struct {
		key string
		val []string
	}{
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"X-Frame-Options", []string{"DENY"}},
		{"Content-Security-Policy", []string{"frame-ancestors 'none'"}},
		{"Referrer-Policy", []string{"no-referrer"}},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, f := range fixed {
			h[f.key] = f.val
		}
		next.ServeHTTP(w, r)
	})
}

// MaxRequestBody caps every request body; handlers that parse bodies may
// set a lower cap of their own. A larger body fails to read with an
// *http.MaxBytesError, and the connection is closed after the answer.
const MaxRequestBody = 1 << 20

// limitBody caps the request body at MaxRequestBody.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxRequestBody {
			oauth.WriteError(w, oauth.Errorf(http.StatusRequestEntityTooLarge, oauth.ErrInvalidRequest, "the request body is too large"))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500; the client sees no details.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				oauth.WriteError(w, oauth.ServerError())
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// logRequest is accessLog's line, apart so that its arguments are built
// only when the level lets it through.
func (s *Server) logRequest(ctx context.Context, r *http.Request, status int, d time.Duration) {
	s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Float64("duration_ms", float64(d.Microseconds())/1000))
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line per request, method, path (never the query,
// which may carry codes), status and duration, and counts it in the
// metrics under the route pattern that matched (set by the ServeMux).
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.ObserveRequest(r.Pattern, sw.status, d)
		if ctx := r.Context(); s.log.Enabled(ctx, slog.LevelInfo) {
			s.logRequest(ctx, r, sw.status, d)
		}
	})
}
