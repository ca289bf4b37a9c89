package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
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
		{"Content-Security-Policy", []string{respond.APICSP}},
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

// limitBody caps the request body at MaxRequestBody while it is read; a
// declared length over it is refused by refuseUnreadable, in the shape of
// the endpoint's dialect.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

// SourceAddress puts each request's source address in its context
// (oauth.WithSource), where oauth.RemoteIP and the throttles read it: the
// socket's peer, or, when that peer is a trusted proxy, the client the
// proxies name. X-Forwarded-For is read when present, else RFC 7239
// Forwarded's for=. The list is walked from the right, skipping trusted
// proxies: the first other address is the source, since each address to
// its right was appended by a trusted proxy, while anything to its left
// may be the client's own invention. An untrusted peer's headers are ignored.
func SourceAddress(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := r.RemoteAddr
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			switch peer := ap.Addr().Unmap(); {
			case isTrusted(trusted, peer):
				src = forwardedSource(r.Header, trusted, peer).String()
			case ap.Addr().Is4In6():
				src = peer.String()
			default: // the address as the socket wrote it, without a copy
				src = strings.TrimSuffix(strings.TrimPrefix(src[:strings.LastIndexByte(src, ':')], "["), "]")
			}
		}
		next.ServeHTTP(w, r.WithContext(oauth.WithSource(r.Context(), src)))
	})
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
}

// forwardedSource is the right-most address the forwarding headers name
// that is not a trusted proxy; peer, the trusted proxy that sent the
// request, when they name none. An entry that is no address ("unknown", an
// obfuscated name) ends the walk at the trusted proxy that wrote it.
func forwardedSource(h http.Header, trusted []netip.Prefix, peer netip.Addr) netip.Addr {
	hops := forwardedHops(h)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		peer = a
		if !isTrusted(trusted, a) {
			break
		}
	}
	return peer
}

// forwardedHops lists the addresses of X-Forwarded-For, or when there is
// none, the for= of each Forwarded element, left to right as proxies
// appended them.
func forwardedHops(h http.Header) []string {
	var hops []string
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, line := range xff {
			for hop := range strings.SplitSeq(line, ",") {
				hops = append(hops, strings.TrimSpace(hop))
			}
		}
		return hops
	}
	for _, line := range h.Values("Forwarded") {
		for _, elem := range splitUnquoted(line, ',') {
			for _, pair := range splitUnquoted(elem, ';') {
				name, value, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(name, "for") {
					hops = append(hops, value)
				}
			}
		}
	}
	return hops
}

// splitUnquoted splits s at each sep outside a quoted string (RFC 7230).
func splitUnquoted(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// parseHop reads one forwarded address: 192.0.2.1, 2001:db8::1, and with
// a port or in Forwarded's quoted form "[2001:db8::1]:443".
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
