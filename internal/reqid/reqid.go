// Package reqid gives every HTTP request an id, echoes it in the response,
// and adds it to every log line written with the request's context.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
)

type ctxKey struct{}

// Headers are the request headers an incoming id is taken from, in order.
// x-reference-id is the Flexiti dialect's name for it.
var Headers = []string{"X-Request-Id", "X-Reference-Id"}

// maxLen bounds an incoming id; longer or odd ones are replaced.
const maxLen = 64

// From returns the request id in ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// Middleware takes the request's id from its headers (or makes one), puts
// it in the context, and echoes it in the response under the header it came
// in (X-Request-Id when made here).
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, header := "", Headers[0]
		for _, h := range Headers {
			if v := r.Header.Get(h); v != "" && valid(v) {
				id, header = v, h
				break
			}
		}
		if id == "" {
			var b [12]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header()[header] = []string{id} // Headers are canonical
		next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
	})
}

// valid accepts short printable ids, so logs and headers stay clean.
func valid(s string) bool {
	if len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Handler wraps a slog.Handler so records logged with a request's context
// carry its request_id.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
