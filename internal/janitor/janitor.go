// Package janitor removes expired rows in the background, so the token,
// code and session tables stay bounded however long latchkey runs, and
// audit events older than their retention.
package janitor

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Store is what the janitor cleans: expired rows and old audit events.
type Store interface {
	storage.Sweeper
	storage.AuditLog
}

// Run deletes rows that expired more than keep ago, and audit events older
// than auditRetention (0 keeps them forever), every interval, until ctx
// ends. Several nodes may run it at once: deleting is idempotent.
func Run(ctx context.Context, st Store, interval, keep, auditRetention time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		Sweep(ctx, st, now.Add(-keep), log)
		SweepAudit(ctx, st, now, auditRetention, log)
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

// SweepAudit deletes the audit events older than retention at now, once;
// a retention of 0 keeps every event.
func SweepAudit(ctx context.Context, st storage.AuditLog, now time.Time, retention time.Duration, log *slog.Logger) int64 {
	if retention <= 0 {
		return 0
	}
	n, err := st.DeleteAuditEventsBefore(ctx, now.Add(-retention))
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "janitor: delete old audit events", "err", err)
		}
		return 0
	}
	if n > 0 {
		log.InfoContext(ctx, "janitor: deleted audit events past their retention", "events", n, "retention", retention)
	}
	return n
}
