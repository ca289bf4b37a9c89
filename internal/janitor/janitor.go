// Package janitor removes expired rows in the background, so the token,
// code and session tables stay bounded however long latchkey runs.
package janitor

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Run deletes rows that expired more than keep ago, every interval, until
// ctx ends. Several nodes may run it at once: deleting is idempotent.
func Run(ctx context.Context, st storage.Sweeper, interval, keep time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		Sweep(ctx, st, time.Now().Add(-keep), log)
	}
}

// Sweep deletes rows that expired before the given time, once.
func Sweep(ctx context.Context, st storage.Sweeper, before time.Time, log *slog.Logger) int64 {
	n, err := st.DeleteExpired(ctx, before)
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "janitor: delete expired rows", "err", err)
		}
		return 0
	}
	if n > 0 {
		log.InfoContext(ctx, "janitor: deleted expired rows", "rows", n)
	}
	return n
}
