package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// The bulk import (storage.Importer) runs each batch in a transaction of
// its own, outside the group commit: a batch is thousands of rows, and
// queueing it with the server's writes would hold their answers for as
// long, and on PostgreSQL outlive CallTimeout. Rows go in as multi-row
// INSERT … ON CONFLICT (id) statements of up to importChunk rows, each
// under a savepoint: a chunk the database refuses (a username another id
// holds, a merchant deleted meanwhile) is rolled back to its savepoint and
// inserted again row by row, so only the bad rows fail. RETURNING id says
// which rows a statement wrote, which is how a skip is told from a create
// without a query per row.

// importChunk is the most rows of one INSERT: 64 rows of 10 columns are
// 640 parameters, well within either database's limit.
const importChunk = 64

// importTable describes how one kind of record is inserted.
type importTable struct {
	table   string
	columns []string // in the order of the row's arguments; id first
	update  []string // the columns Update replaces
}

var (
	orgImport = importTable{table: "organizations", columns: []string{"id", "name", "created_at"},
		update: []string{"name"}}
	merchantImport = importTable{table: "merchants", columns: []string{"id", "name", "organization_id", "created_at"},
		update: []string{"name", "organization_id"}}
	accountImport = importTable{table: "accounts", columns: []string{"id", "kind", "merchant_id", "realm", "username",
		"username_key", "password_hash", "printed_card_number", "disabled", "created_at"},
		update: []string{"merchant_id", "realm", "username", "username_key", "password_hash", "printed_card_number", "disabled"}}
	clientImport = importTable{table: "clients", columns: clientColumnList,
		update: slices.DeleteFunc(slices.Clone(clientColumnList), func(c string) bool { return c == "id" || c == "created_at" })}
)

// clientColumnList is clientColumns as a list, in clientArgs' order.
var clientColumnList = strings.Fields(strings.ReplaceAll(clientColumns, ",", " "))

// insertSQL caches the statements insert builds, by table, rows and update.
var insertSQL sync.Map

// insert is the statement inserting rows rows of t, skipping or replacing
// those whose id exists, and returning the ids it wrote.
func (t importTable) insert(rows int, update bool) string {
	key := t.table + "/" + strconv.Itoa(rows) + "/" + strconv.FormatBool(update)
	if q, ok := insertSQL.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.table + " (" + strings.Join(t.columns, ", ") + ") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range t.columns {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
		}
		b.WriteByte(')')
	}
	if update {
		sets := make([]string, len(t.update))
		for i, c := range t.update {
			sets[i] = c + " = excluded." + c
		}
		b.WriteString(" ON CONFLICT (id) DO UPDATE SET " + strings.Join(sets, ", "))
	} else {
		b.WriteString(" ON CONFLICT (id) DO NOTHING")
	}
	b.WriteString(" RETURNING id")
	insertSQL.Store(key, b.String())
	return b.String()
}

// importBatch is one Importer call: n rows of t, row i's arguments from
// args and its id from id. before runs first in the transaction and may
// fail rows (it also learns which ids exist, under Update); after runs
// once the rows are in, with the indexes of those written.
type importBatch struct {
	t      importTable
	n      int
	id     func(i int) string
	args   func(args []any, i int) []any
	before func(ctx context.Context, tx *wtx, res *storage.ImportResult, existing map[string]bool) error
	after  func(ctx context.Context, tx *wtx, written []int, existing map[string]bool) error
}

// runImport runs b in a transaction of its own, retried as a whole when
// the database aborted it for a conflict with another writer.
func (s *Store) runImport(ctx context.Context, b importBatch, o storage.ImportOptions) (storage.ImportResult, error) {
	var res storage.ImportResult
	var err error
	for range maxAttempts {
		res, err = s.tryImport(ctx, b, o)
		if err == nil || !s.flavor.Retryable(err) {
			break
		}
	}
	if err != nil {
		return storage.ImportResult{}, s.wrap(err, "import %d %s", b.n, b.t.table)
	}
	return res, nil
}

func (s *Store) tryImport(ctx context.Context, b importBatch, o storage.ImportOptions) (storage.ImportResult, error) {
	res := storage.ImportResult{Failed: map[int]error{}}
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("begin transaction: %w", err)
	}
	tx := &wtx{Tx: sqlTx, stmts: s.commit.stmts}
	defer sqlTx.Rollback() // after Commit a no-op; under DryRun the undoing of everything

	// Which ids exist: Update counts them as updated rather than created,
	// and the accounts' before hook compares what they had.
	existing := map[string]bool{}
	if o.Update {
		if err := existingIDs(ctx, tx, b.t.table, b.n, b.id, existing); err != nil {
			return res, err
		}
	}
	if b.before != nil {
		if err := b.before(ctx, tx, &res, existing); err != nil {
			return res, err
		}
	}
	// A row given twice in the batch is written once: its first
	// occurrence, or under Update its last (PostgreSQL refuses one
	// statement touching a row twice).
	first, pick := make(map[string]int, b.n), make(map[string]int, b.n)
	var rows []int
	for i := range b.n {
		if _, failed := res.Failed[i]; failed {
			continue
		}
		id := b.id(i)
		if _, seen := first[id]; !seen {
			first[id] = i
		} else if !o.Update {
			continue
		}
		pick[id] = i
	}
	for i := range b.n {
		if j, ok := pick[b.id(i)]; ok && j == i {
			rows = append(rows, i)
		}
	}
	var written []int
	for start, n := 0, importChunk; start < len(rows); start += n {
		for n > len(rows)-start {
			n /= 2 // power-of-two sizes: few statements are ever prepared
		}
		w, err := s.importChunk(ctx, tx, b, rows[start:start+n], o.Update, &res)
		if err != nil {
			return res, err
		}
		written = append(written, w...)
	}
	done := make(map[int]bool, len(written))
	for _, i := range written {
		done[i] = true
	}
	for i := range b.n {
		if _, failed := res.Failed[i]; failed {
			continue
		}
		id := b.id(i)
		switch {
		case !done[pick[id]]:
			res.Skipped++ // its id exists (no Update), or the occurrence written failed
		case !o.Update && i != pick[id]:
			res.Skipped++ // given before in the batch
		case i == first[id] && !existing[id]:
			res.Created++
		default:
			res.Updated++
		}
	}
	if b.after != nil && len(written) > 0 {
		if err := b.after(ctx, tx, written, existing); err != nil {
			return res, err
		}
	}
	if o.DryRun {
		return res, nil // the deferred rollback undoes everything
	}
	if err := sqlTx.Commit(); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// importChunk inserts rows under a savepoint, and row by row if the
// database refuses them together; it returns the rows written.
func (s *Store) importChunk(ctx context.Context, tx *wtx, b importBatch, rows []int, update bool, res *storage.ImportResult) ([]int, error) {
	if _, err := tx.Tx.ExecContext(ctx, "SAVEPOINT import_chunk"); err != nil {
		return nil, err
	}
	ids, err := insertReturning(ctx, tx, b, rows, update)
	if err == nil {
		_, err = tx.Tx.ExecContext(ctx, "RELEASE SAVEPOINT import_chunk")
		return writtenOf(b, rows, ids), err
	}
	if s.flavor.Classify(err) == nil {
		return nil, err // not a row's fault: the batch fails
	}
	if _, err := tx.Tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT import_chunk"); err != nil {
		return nil, err
	}
	var written []int
	for _, i := range rows {
		if _, err := tx.Tx.ExecContext(ctx, "SAVEPOINT import_row"); err != nil {
			return nil, err
		}
		ids, err := insertReturning(ctx, tx, b, []int{i}, update)
		if err != nil {
			c := s.flavor.Classify(err)
			if c == nil {
				return nil, err
			}
			res.Failed[i] = c
			if _, err := tx.Tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT import_row"); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Tx.ExecContext(ctx, "RELEASE SAVEPOINT import_row"); err != nil {
			return nil, err
		}
		written = append(written, writtenOf(b, []int{i}, ids)...)
	}
	_, err = tx.Tx.ExecContext(ctx, "RELEASE SAVEPOINT import_chunk")
	return written, err
}

// insertReturning runs one INSERT of rows and returns the ids it wrote.
func insertReturning(ctx context.Context, tx *wtx, b importBatch, rows []int, update bool) (map[string]bool, error) {
	args := make([]any, 0, len(rows)*len(b.t.columns))
	for _, i := range rows {
		args = b.args(args, i)
	}
	q, err := tx.QueryContext(ctx, b.t.insert(len(rows), update), args...)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	ids := make(map[string]bool, len(rows))
	for q.Next() {
		var id string
		if err := q.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, q.Err()
}

func writtenOf(b importBatch, rows []int, ids map[string]bool) []int {
	var out []int
	for _, i := range rows {
		if ids[b.id(i)] {
			out = append(out, i)
		}
	}
	return out
}

// inQuery returns a query selecting cols of table where key is one of n
// values, n a power of two so that few statements are ever prepared.
func inQuery(cols, table, key string, n int) string {
	var b strings.Builder
	b.WriteString("SELECT " + cols + " FROM " + table + " WHERE " + key + " IN (")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
	}
	b.WriteByte(')')
	return b.String()
}

// chunkedQuery runs query (built by inQuery) over keys in power-of-two
// chunks up to 256, padding the last with its final key, calling scan for
// each row.
func chunkedQuery(ctx context.Context, tx *wtx, query func(n int) string, keys []string, scan func(*sql.Rows) error) error {
	for start := 0; start < len(keys); {
		n := 256
		for n > len(keys)-start && n > 1 {
			n /= 2
		}
		if n < len(keys)-start && n < 256 {
			n *= 2 // pad rather than run a tail of small queries
		}
		args := make([]any, n)
		for i := range n {
			args[i] = keys[min(start+i, len(keys)-1)]
		}
		rows, err := tx.QueryContext(ctx, query(n), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		start += n
	}
	return nil
}

func existingIDs(ctx context.Context, tx *wtx, table string, n int, id func(int) string, into map[string]bool) error {
	keys := make([]string, n)
	for i := range n {
		keys[i] = id(i)
	}
	return chunkedQuery(ctx, tx, func(k int) string { return inQuery("id", table, "id", k) }, keys, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		into[id] = true
		return err
	})
}

// ImportOrganizations stores organizations in bulk (storage.Importer).
func (s *Store) ImportOrganizations(ctx context.Context, orgs []storage.Organization, o storage.ImportOptions) (storage.ImportResult, error) {
	return s.runImport(ctx, importBatch{t: orgImport, n: len(orgs), id: func(i int) string { return orgs[i].ID },
		args: func(args []any, i int) []any {
			return append(args, orgs[i].ID, orgs[i].Name, ms(orgs[i].CreatedAt))
		}}, o)
}

// ImportMerchants stores merchants in bulk (storage.Importer).
func (s *Store) ImportMerchants(ctx context.Context, merchants []storage.Merchant, o storage.ImportOptions) (storage.ImportResult, error) {
	return s.runImport(ctx, importBatch{t: merchantImport, n: len(merchants), id: func(i int) string { return merchants[i].ID },
		args: func(args []any, i int) []any {
			m := merchants[i]
			return append(args, m.ID, m.Name, nullable(m.OrganizationID), ms(m.CreatedAt))
		},
		before: refsExist(len(merchants), "organizations", func(i int) string { return merchants[i].OrganizationID })}, o)
}

// ImportClients stores clients in bulk (storage.Importer).
func (s *Store) ImportClients(ctx context.Context, cs []storage.Client, o storage.ImportOptions) (storage.ImportResult, error) {
	return s.runImport(ctx, importBatch{t: clientImport, n: len(cs), id: func(i int) string { return cs[i].ID },
		args: func(args []any, i int) []any { return append(args, clientArgs(cs[i])...) },
		before: func(ctx context.Context, tx *wtx, res *storage.ImportResult, existing map[string]bool) error {
			var refs refChecker
			for i, c := range cs {
				if c.MerchantID != "" {
					refs.check(ctx, tx, res, i, "merchants", c.MerchantID)
				}
				if c.OrganizationID != "" {
					refs.check(ctx, tx, res, i, "organizations", c.OrganizationID)
				}
			}
			if refs.err != nil || len(existing) == 0 {
				return refs.err
			}
			// What a client is bound to and whom it logs in stay, as the
			// admin API's PATCH keeps them: a new binding is a new client.
			type binding struct{ merchant, organization, kind string }
			olds := map[string]binding{}
			err := chunkedQuery(ctx, tx, func(k int) string {
				return inQuery("id, merchant_id, organization_id, account_kind", "clients", "id", k)
			}, slices.Collect(maps.Keys(existing)), func(r *sql.Rows) error {
				var id string
				var m, org nullString
				var b binding
				err := r.Scan(&id, &m, &org, &b.kind)
				b.merchant, b.organization = m.String, org.String
				olds[id] = b
				return err
			})
			if err != nil {
				return err
			}
			for i, c := range cs {
				prev, ok := olds[c.ID]
				// An account kind stored empty is guest, as a new client's is.
				prev.kind = cmp.Or(prev.kind, string(storage.Guest))
				if ok && prev != (binding{c.MerchantID, c.OrganizationID, cmp.Or(string(c.AccountKind), string(storage.Guest))}) {
					res.Failed[i] = fmt.Errorf("client %q is bound to merchant %q, organization %q for %s accounts: %w",
						c.ID, prev.merchant, prev.organization, prev.kind, storage.ErrKindChange)
				}
			}
			return nil
		}}, o)
}

// refsExist is the before hook of a kind whose rows name at most one row
// of table (ref(i), "" for none): it fails the rows naming one that does
// not exist.
func refsExist(n int, table string, ref func(i int) string) func(context.Context, *wtx, *storage.ImportResult, map[string]bool) error {
	return func(ctx context.Context, tx *wtx, res *storage.ImportResult, _ map[string]bool) error {
		var refs refChecker
		for i := range n {
			if id := ref(i); id != "" {
				refs.check(ctx, tx, res, i, table, id)
			}
		}
		return refs.err
	}
}

// ImportAccounts stores accounts and their memberships in bulk (storage.Importer).
func (s *Store) ImportAccounts(ctx context.Context, as []storage.Account, o storage.ImportOptions) (storage.ImportResult, error) {
	type old struct {
		kind     storage.AccountKind
		hash     string
		disabled bool
	}
	var olds map[string]old
	b := importBatch{t: accountImport, n: len(as), id: func(i int) string { return as[i].ID },
		args: func(args []any, i int) []any {
			a := as[i]
			return append(args, a.ID, string(a.Kind), nullable(a.MerchantID), realm(a.Kind, a.MerchantID), a.Username,
				usernameKey(a.Username), a.PasswordHash, a.PrintedCardNumber, a.Disabled, ms(a.CreatedAt))
		}}
	b.before = func(ctx context.Context, tx *wtx, res *storage.ImportResult, existing map[string]bool) error {
		olds = map[string]old{}
		var refs refChecker
		for i, a := range as {
			if !a.Kind.Valid() || (a.Kind == storage.Guest) != (a.MerchantID != "") {
				res.Failed[i] = fmt.Errorf("account %q: kind %q with merchant %q: a guest has a merchant, staff none", a.ID, a.Kind, a.MerchantID)
				continue
			}
			if a.MerchantID != "" {
				refs.check(ctx, tx, res, i, "merchants", a.MerchantID)
			}
			for _, m := range a.Memberships {
				table := membershipTables[m.Type]
				if table == "" {
					res.Failed[i] = fmt.Errorf("membership type %q is not merchant or organization", m.Type)
					break
				}
				refs.check(ctx, tx, res, i, table, m.ID)
			}
		}
		if refs.err != nil {
			return refs.err
		}
		if len(existing) == 0 {
			return nil
		}
		ids := make([]string, 0, len(existing))
		for id := range existing {
			ids = append(ids, id)
		}
		err := chunkedQuery(ctx, tx, func(k int) string {
			return inQuery("id, kind, password_hash, disabled", "accounts", "id", k)
		}, ids, func(r *sql.Rows) error {
			var id, kind string
			var o old
			err := r.Scan(&id, &kind, &o.hash, &o.disabled)
			o.kind = storage.AccountKind(kind)
			olds[id] = o
			return err
		})
		if err != nil {
			return err
		}
		for i, a := range as {
			if prev, ok := olds[a.ID]; ok && prev.kind != a.Kind {
				res.Failed[i] = fmt.Errorf("account %q is %s: %w", a.ID, prev.kind, storage.ErrKindChange)
			}
		}
		return nil
	}
	b.after = func(ctx context.Context, tx *wtx, written []int, existing map[string]bool) error {
		var members []storage.Account
		for _, i := range written {
			a := as[i]
			if existing[a.ID] {
				// Replaced: its memberships are the file's now, and a new
				// password hash or a disabling takes back what the old
				// credentials let in, as SetAccountPassword does.
				if _, err := tx.ExecContext(ctx, `DELETE FROM account_memberships WHERE account_id = $1`, a.ID); err != nil {
					return err
				}
				if prev := olds[a.ID]; prev.hash != a.PasswordHash || (a.Disabled && !prev.disabled) {
					if err := revokeAccount(ctx, tx, a.ID, o.Now, `disabled = $3`, a.Disabled); err != nil {
						return err
					}
				}
			}
			if len(a.Memberships) > 0 {
				members = append(members, a)
			}
		}
		return insertMembershipRows(ctx, tx, members)
	}
	return s.runImport(ctx, b, o)
}

// membershipTables is the table of each type of membership's owner.
var membershipTables = map[storage.OwnerType]string{storage.OwnerMerchant: "merchants", storage.OwnerOrganization: "organizations"}

// refChecker fails the rows that name a merchant or organization that
// does not exist, looking each one up once per batch (a batch of guests
// names one merchant or a few). An account's memberships have no foreign
// key, so this is what keeps them pointing at records.
type refChecker struct {
	known map[string]error // table/id -> nil or ErrNotFound
	err   error            // a failed lookup: the batch fails
}

func (r *refChecker) check(ctx context.Context, tx *wtx, res *storage.ImportResult, i int, table, id string) {
	if r.err != nil {
		return
	}
	if r.known == nil {
		r.known = map[string]error{}
	}
	key := table + "/" + id
	err, ok := r.known[key]
	if !ok {
		err = mustExist(ctx, tx, table, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			r.err = err
			return
		}
		r.known[key] = err
	}
	if err != nil {
		res.Failed[i] = fmt.Errorf("%s %q: %w", strings.TrimSuffix(table, "s"), id, err)
	}
}

var membershipInserts = multiInserts("account_memberships", "account_id, owner_type, owner_id", 3)

// insertMembershipRows stores the memberships of accounts with multi-row INSERTs.
func insertMembershipRows(ctx context.Context, tx *wtx, accounts []storage.Account) error {
	type row struct{ account, typ, id string }
	var rows []row
	for _, a := range accounts {
		for _, m := range a.Memberships {
			rows = append(rows, row{a.ID, string(m.Type), m.ID})
		}
	}
	return insertRows(ctx, tx, membershipInserts, 3, len(rows), func(args []any, i int) []any {
		return append(args, rows[i].account, rows[i].typ, rows[i].id)
	})
}
