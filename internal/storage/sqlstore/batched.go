package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// On PostgreSQL every statement of a group-commit transaction is a round
// trip, made one after the other while the transaction holds its row locks.
// A batch of refresh rotations or code redemptions made one conditional
// UPDATE each, so a batch of n took n round trips before its tokens were
// inserted. The batch's updates of one kind are made by one statement over
// arrays (unnest), the same text whatever n is; a write whose row it did
// not change (a replay, a retry, an expired or revoked token) then runs its
// own slower path. SQLite, in process, has no round trip to save, but a
// statement through the driver costs some microseconds whatever it does:
// there the updates go as one statement over a JSON array, refresh 1.05x
// and code grants 1.03x the throughput (8 paired runs at c=64).

// keyedUpdate is the conditional update a keyed write starts with, for the
// batch to make together with the others of its kind.
type keyedUpdate struct {
	kind *updateKind
	id   string
	now  int64
	to   string // the successor id, for kinds that set one
	// tokens are stored, and won called, when the update changed the row.
	tokens *storage.TokenSet
	won    func()
	hit    bool // set for this attempt by runUpdates, or committer.runCombined
}

// updateKind is one batched statement: it takes ids, times and successor
// ids, and returns the ids of the rows it changed. On PostgreSQL they go as
// arrays, one per column (query); on SQLite, which has no arrays, as one
// JSON array of [id, time, successor] (jsonQuery).
type updateKind struct {
	name      string
	query     string
	jsonQuery string
	succ      bool // whether the statement takes successor ids
}

// rotateKind rotates refresh tokens, on the same conditions as
// RotateRefreshToken's own statement.
var rotateKind = &updateKind{name: "rotate refresh tokens", succ: true,
	query: `UPDATE refresh_tokens SET rotated_at = v.v_now, successor_id = v.v_succ
	FROM unnest($1::text[], $2::bigint[], $3::text[]) AS v(v_id, v_now, v_succ)` + rotateWhere,
	jsonQuery: `UPDATE refresh_tokens SET rotated_at = v.v_now, successor_id = v.v_succ
	FROM (SELECT value ->> 0 AS v_id, value ->> 1 AS v_now, value ->> 2 AS v_succ FROM json_each($1)) AS v` + rotateWhere}

const rotateWhere = `
	WHERE id = v.v_id AND rotated_at = 0 AND revoked_at = 0 AND (expires_at = 0 OR expires_at > v.v_now)
	AND NOT EXISTS ` + familyRevocation + ` AND NOT EXISTS ` + accountRevocation + `
	RETURNING id`

// redeemKind marks authorization codes used, on the same conditions as
// RedeemAuthCode's own statement.
var redeemKind = &updateKind{name: "redeem authorization codes",
	query: `UPDATE auth_codes SET used_at = v.v_now
	FROM unnest($1::text[], $2::bigint[]) AS v(v_id, v_now)` + redeemWhere,
	jsonQuery: `UPDATE auth_codes SET used_at = v.v_now
	FROM (SELECT value ->> 0 AS v_id, value ->> 1 AS v_now FROM json_each($1)) AS v` + redeemWhere}

const redeemWhere = `
	WHERE id = v.v_id AND used_at = 0 AND expires_at > v.v_now
	RETURNING id`

// updateKinds are the kinds of batched update, in the order a batch makes
// them; a kind's place is also its number in combinedStatement's hit keys.
var updateKinds = []*updateKind{rotateKind, redeemKind}

// updateBatch is one kind's updates in a batch.
type updateBatch struct {
	kind       *updateKind
	num        int // the kind's place in updateKinds
	ids, succs []string
	nows       []int64
	byID       map[string]*keyedUpdate
}

// groupUpdates groups the updates of reqs by kind, in updateKinds' order,
// and clears their hits for a new attempt. A second update naming the same
// row is left out, and dup reported: its own path then finds the row
// changed by the first.
func groupUpdates(reqs []*writeReq) (batches []*updateBatch, dup bool) {
	var byKind [2]*updateBatch
	for _, r := range reqs {
		u := r.upd
		if u == nil {
			continue
		}
		u.hit = false
		k := slices.Index(updateKinds, u.kind)
		b := byKind[k]
		if b == nil {
			b = &updateBatch{kind: u.kind, num: k, byID: map[string]*keyedUpdate{}}
			byKind[k] = b
		}
		if _, seen := b.byID[u.id]; seen {
			dup = true
			continue
		}
		b.byID[u.id] = u
		b.ids, b.nows, b.succs = append(b.ids, u.id), append(b.nows, u.now), append(b.succs, u.to)
	}
	for _, b := range byKind {
		if b != nil {
			batches = append(batches, b)
		}
	}
	return batches, dup
}

// runUpdates makes the batched updates of reqs, one statement per kind, and
// marks the writes whose rows they changed (groupUpdates).
// The updates run before the batch's other writes, and the caller then
// queues the tokens of the writes they won, also before the others: the
// batch's writes were all waiting at once, so the order "these first" is
// one they could have had. Only the update hoisted without its tokens would
// be wrong: a revocation later in the batch would miss them (the conformance
// suite's RevokeClientRacesRotation caught exactly that).
func (t *wtx) runUpdates(ctx context.Context, reqs []*writeReq, replan any) error {
	batches, _ := groupUpdates(reqs)
	for _, b := range batches {
		kind := b.kind
		if !t.arrays {
			// SQLite: the statement, prepared once, plans on its
			// indexes whatever the table's size (Flavor.Replan).
			rows, err := t.QueryContext(ctx, kind.jsonQuery, updateJSON(b.ids, b.nows, b.succs, kind.succ))
			if err != nil {
				return fmt.Errorf("%s: %w", kind.name, err)
			}
			if err := markHits(rows, b.byID); err != nil {
				return fmt.Errorf("%s: %w", kind.name, err)
			}
			continue
		}
		args := []any{b.ids, b.nows}
		if kind.succ {
			args = append(args, b.succs)
		}
		// Unprepared (Flavor.Replan): PostgreSQL keeps a prepared
		// statement's generic plan for the connection's life, and one made
		// while the table was small (a new database, a benchmark's) joins
		// the arrays to a sequential scan of it, slower with every token
		// issued until autovacuum's next ANALYZE. Refresh on a new
		// database: 1.06-2.07x the throughput planned per batch (three
		// pairs); where the prepared plan was good, no measurable cost.
		// Never through the statement cache (t.QueryContext): pgx runs a
		// statement prepared under the same text whatever mode it is
		// given, generic plan and all.
		if replan != nil {
			args = append([]any{replan}, args...)
		}
		rows, err := t.Tx.QueryContext(ctx, kind.query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", kind.name, err)
		}
		if err := markHits(rows, b.byID); err != nil {
			return fmt.Errorf("%s: %w", kind.name, err)
		}
	}
	return nil
}

// markHits marks the updates whose ids rows returns, and closes rows.
func markHits(rows *sql.Rows, byID map[string]*keyedUpdate) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if u := byID[id]; u != nil {
			u.hit = true
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

// updateJSON is the JSON array of [id, time] or [id, time, successor]
// that jsonQuery takes.
func updateJSON(ids []string, nows []int64, succs []string, succ bool) string {
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{id, nows[i]}
		if succ {
			rows[i] = append(rows[i], succs[i])
		}
	}
	return jsonText(rows)
}

// hitsCTE names combinedStatement's WITH clause of the rows its updates
// changed, as hit keys (hitKey); its conditional INSERTs read it.
const hitsCTE = "hits"

// combine returns the update batches of reqs when reqs can be one
// statement (combinedStatement): every write is a token set or a batched
// update, at least one is an update, and no two updates name the same row
// (the second must see the first's change, which one statement's snapshot
// would not show it).
func combine(reqs []*writeReq) ([]*updateBatch, bool) {
	for _, r := range reqs {
		if r.tokens == nil && (r.upd == nil || r.upd.tokens == nil) {
			return nil, false
		}
	}
	batches, dup := groupUpdates(reqs)
	return batches, len(batches) > 0 && !dup
}

// hitKey is how combinedStatement names a row its update u changed: the
// number of u's kind and the row's id.
func hitKey(u *keyedUpdate) string {
	return strconv.Itoa(slices.Index(updateKinds, u.kind)) + ":" + u.id
}

// combinedStatement is reqs, with their update batches (combine), as one
// statement, for PostgreSQL: each kind's batched update
// (updateKind.query), then the batch's token rows, those of an update
// stored only if it changed its row, all as WITH clauses of a SELECT of the
// updates' hit keys. A batch of refreshes was four round trips one after
// the other (BEGIN, the rotation, the INSERT, COMMIT), with the
// transaction's row locks held through them; a statement of its own is a
// transaction of its own, committed when it ends, so this is one.
func combinedStatement(reqs []*writeReq, batches []*updateBatch) (string, []any, error) {
	var ctes, hits []string
	var args []any
	for _, b := range batches {
		n := len(args)
		args = append(args, b.ids, b.nows)
		if b.kind.succ {
			args = append(args, b.succs)
		}
		name := "u" + strconv.Itoa(b.num)
		ctes = append(ctes, name+" AS ("+renumber(b.kind.query, n)+")")
		hits = append(hits, "SELECT '"+strconv.Itoa(b.num)+":' || id AS id FROM "+name)
	}
	ctes = append(ctes, hitsCTE+" AS ("+strings.Join(hits, " UNION ALL ")+")")
	sets := make([]*storage.TokenSet, len(reqs))
	conds := make([]string, len(reqs))
	for i, r := range reqs {
		if r.tokens != nil {
			sets[i] = r.tokens
			continue
		}
		sets[i], conds[i] = r.upd.tokens, hitKey(r.upd)
	}
	inserts, iargs, err := tokenInserts(rowsOf(sets, conds), len(args))
	if err != nil {
		return "", nil, err
	}
	for i, q := range inserts {
		ctes = append(ctes, "w"+strconv.Itoa(i)+" AS ("+q+")")
	}
	return withClauses(ctes, "SELECT id FROM "+hitsCTE), append(args, iargs...), nil
}

// placeholder matches a statement's $n parameters.
var placeholder = regexp.MustCompile(`\$[0-9]+`)

// renumber adds by to the number of each $n parameter of query, whose text
// holds no "$" otherwise (updateKind.query).
func renumber(query string, by int) string {
	return placeholder.ReplaceAllStringFunc(query, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + strconv.Itoa(n+by)
	})
}
