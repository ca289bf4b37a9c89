package oauth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/latchkey-dev/latchkey/internal/logevery"
)

// unavailable answers a failure that is not the client's (a database error,
// a timeout): 503 temporarily_unavailable with Retry-After, never an OAuth
// error that would make a client throw a good grant away. The cause is
// logged at most once per failureLogInterval (see failureLog), and never
// when the caller went away.
func (s *Server) unavailable(ctx context.Context, what string, err error) *Error {
	s.noteFailure(ctx, what, err)
	return Unavailable(time.Second, "the server could not complete the request; retry in 1 second")
}

// StorageFailed is unavailable for the pages and the readiness check: a
// storage failure met outside the core is answered and logged as the core
// answers and logs its own, and counted in the same log line.
func (s *Server) StorageFailed(ctx context.Context, what string, err error) *Error {
	return s.unavailable(ctx, what, err)
}

// noteFailure logs a failure that the request then answers or works around
// (see failureLog); context.Canceled, a caller that went away, is not one.
func (s *Server) noteFailure(ctx context.Context, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.failures.note(ctx, s.log, what, err)
}

// failureLogInterval is how often at most a failure is logged. A database
// that is down fails every request: logged each time, it wrote 8.8 MB of
// ERROR lines in 20 s (issue 15) and buried everything else.
const failureLogInterval = 10 * time.Second

// failureLog logs the first failure at once, then at most one line per
// failureLogInterval, each with the number of failures since the line
// before it and the last one's cause.
type failureLog struct{ every logevery.Limiter }

func (l *failureLog) note(ctx context.Context, log *slog.Logger, what string, err error) {
	n, since, ok := l.every.Note(time.Now(), failureLogInterval)
	if !ok {
		return
	}
	attrs := []slog.Attr{slog.String("op", what), slog.Any("err", err), slog.Int("failures", n)}
	if !since.IsZero() {
		attrs = append(attrs, slog.Time("since", since))
	}
	log.LogAttrs(ctx, slog.LevelError, "requests failing, answering 503 temporarily_unavailable", attrs...)
}
