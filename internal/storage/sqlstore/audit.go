package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

const auditColumns = `id, occurred_at, type, actor, subject, client_id, merchant_id, organization_id, source, request_id, detail`

// auditWidth is the number of auditColumns; auditInserts are the
// multi-row INSERTs of audit events (see multiInserts).
const auditWidth = 11

var auditInserts = multiInserts("audit_events", auditColumns, auditWidth)

// appendAuditArgs appends e's values in auditColumns order; an event
// without an id or time gets one.
func appendAuditArgs(args []any, e storage.AuditEvent) []any {
	if e.ID == "" {
		e.ID = secrets.SortableID("ev_")
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	detail := detailJSON(e.Detail)
	return append(args, e.ID, ms(e.Time), e.Type, e.Actor, e.Subject, e.ClientID, e.MerchantID, e.OrganizationID,
		e.Source, e.RequestID, detail)
}

// detailJSON is an event's detail as a JSON object. Details of plain
// ASCII, as every token.issued event's is, are written directly (0.48 µs
// and 2 allocations against json.Marshal's 1.0 µs and 11,
// BenchmarkDetailJSON); anything else goes through json.Marshal.
func detailJSON(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	var keys [8]string
	if len(d) > len(keys) {
		return jsonText(d)
	}
	n := 0
	size := 2
	for k, v := range d {
		if !plainJSON(k) || !plainJSON(v) {
			return jsonText(d)
		}
		keys[n] = k
		n++
		size += len(k) + len(v) + 6
	}
	slices.Sort(keys[:n])
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys[:n] {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":"`...)
		b = append(b, d[k]...)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

// plainJSON reports whether s can stand between JSON quotes as it is, the
// way json.Marshal would write it: printable ASCII other than the quote,
// the backslash and the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// AppendAuditEvents stores events through the group commit, so a burst of
// them shares transactions and each is durable when the call returns. An
// event without an id or time gets one.
func (s *Store) AppendAuditEvents(ctx context.Context, events ...storage.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		return insertRows(ctx, tx, auditInserts, auditWidth, len(events), func(args []any, i int) []any {
			return appendAuditArgs(args, events[i])
		})
	})
	return s.wrap(err, "append audit events")
}

// ListAuditEvents returns the events f selects, by id.
func (s *Store) ListAuditEvents(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = storage.DefaultAuditLimit
	}
	limit = min(limit, storage.MaxAuditLimit)
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if !f.Since.IsZero() {
		add("occurred_at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("occurred_at < ?", ms(f.Until))
	}
	for _, c := range []struct{ column, v string }{{"type", f.Type}, {"actor", f.Actor}, {"subject", f.Subject},
		{"merchant_id", f.MerchantID}, {"client_id", f.ClientID}} {
		if c.v != "" {
			add(c.column+" = ?", c.v)
		}
	}
	if f.OrganizationID != "" {
		// The literal condition lets the planner use the partial index.
		add("organization_id <> '' AND organization_id = ?", f.OrganizationID)
	}
	if f.After != "" {
		add("id > ?", f.After)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	// The limit is a constant of the query, not an argument: at most
	// MaxAuditLimit variants, each prepared once.
	q += ` ORDER BY id LIMIT ` + strconv.Itoa(limit)
	evs, err := list(ctx, s.reader, scanAudit, q, args...)
	return evs, s.wrap(err, "list audit events")
}

func scanAudit(row scanner) (storage.AuditEvent, error) {
	var e storage.AuditEvent
	var at int64
	var detail string
	if err := row.Scan(&e.ID, &at, &e.Type, &e.Actor, &e.Subject, &e.ClientID, &e.MerchantID, &e.OrganizationID,
		&e.Source, &e.RequestID, &detail); err != nil {
		return e, err
	}
	e.Time = fromMS(at)
	if detail != "" && detail != "{}" {
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return e, fmt.Errorf("decode detail of audit event %q: %w", e.ID, err)
		}
	}
	return e, nil
}

// DeleteAuditEventsBefore removes events older than before, in batches
// like DeleteExpired, so other writes never wait long behind it.
func (s *Store) DeleteAuditEventsBefore(ctx context.Context, before time.Time) (int64, error) {
	query := `DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE occurred_at < $1 LIMIT ` +
		strconv.Itoa(sweepBatch) + `)`
	var total int64
	for {
		var n int64
		err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
			res, err := tx.ExecContext(ctx, query, ms(before))
			n, err = rowsAffected(res, err)
			return err
		})
		if err != nil {
			return total, s.wrap(err, "delete audit events")
		}
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}
