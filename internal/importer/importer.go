// Package importer reads the records of a platform moving onto latchkey —
// organizations, merchants, accounts with their existing password hashes,
// clients with their existing secrets — from JSON Lines or CSV, checks
// each with the Directory's rules, and stores them in batches through
// storage.Importer. It streams: memory holds one batch, not the file
// (--dry-run adds a digest per row to find duplicates across the file).
// A record refused is reported with its line and field, and the rest goes
// on. Nothing it reports holds a secret or a password hash.
package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Kind is the kind of record a file holds.
type Kind string

// The kinds of record, in the order a platform imports them (each refers
// only to kinds before it).
const (
	Organizations Kind = "organizations"
	Merchants     Kind = "merchants"
	Accounts      Kind = "accounts"
	Clients       Kind = "clients"
)

// Kinds lists every kind, in import order.
var Kinds = []Kind{Organizations, Merchants, Accounts, Clients}

// ParseKind reads a kind, plural or singular.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if s == string(k) || s == strings.TrimSuffix(string(k), "s") {
			return k, nil
		}
	}
	if s == "orgs" || s == "org" {
		return Organizations, nil
	}
	return "", fmt.Errorf("unknown kind %q: give organizations, merchants, accounts or clients", s)
}

// DefaultBatch is how many rows one transaction stores: large enough that
// a commit's cost (an fsync on SQLite) is shared by many rows, small
// enough that a batch's memory stays a few megabytes.
const DefaultBatch = 2000

// maxBatchBytes bounds a batch's input, so long rows make smaller batches.
const maxBatchBytes = 4 << 20

// Store is what an import reads and writes.
type Store interface {
	storage.Importer
	ListMerchants(ctx context.Context) ([]storage.Merchant, error)
	ListOrganizations(ctx context.Context) ([]storage.Organization, error)
	ListClients(ctx context.Context) ([]storage.Client, error)
	GetAccount(ctx context.Context, id string) (storage.Account, error)
}

// Config is one import.
type Config struct {
	Store Store
	// Keys hash imported client secrets.
	Keys *secrets.Keys
	// Dialects a client may be registered for, with their defaults.
	Dialects map[string]oauth.ClientDefaults
	Kind     Kind
	Format   Format
	// Update replaces records whose id exists instead of skipping them.
	Update bool
	// DryRun checks everything and writes nothing.
	DryRun bool
	// AllowWeak names the password hash schemes imported even when weak.
	AllowWeak []string
	// BatchSize is how many rows one transaction stores; DefaultBatch when 0.
	BatchSize int
	// Now stamps records without created_at; time.Now when nil.
	Now func() time.Time
	// OnError is told of every row refused, in file order (after the
	// row's batch is stored); an error it returns stops the import.
	OnError func(RowError) error
	// OnProgress is told how far the import is, often (every batch and
	// every 1,000 rows); it decides itself when to show anything.
	OnProgress func(Progress)
}

// Summary counts what an import did with the rows it read.
type Summary struct {
	Read, Created, Updated, Skipped, Failed int
	Elapsed                                 time.Duration
}

// Progress is a Summary under way, with how much of the input was read.
type Progress struct {
	Summary
	Bytes int64
}

// Run imports the records r holds. It returns an error only for what
// stops the import (an unreadable file or header, a database failure);
// refused rows are counted in Summary.Failed and told to OnError.
func Run(ctx context.Context, cfg Config, r io.Reader) (Summary, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatch
	}
	if cfg.OnError == nil {
		cfg.OnError = func(RowError) error { return nil }
	}
	if cfg.OnProgress == nil {
		cfg.OnProgress = func(Progress) {}
	}
	im := &run{cfg: cfg, start: time.Now(), in: &countingReader{r: r}, now: cfg.Now().UTC().Truncate(time.Millisecond)}
	opts := storage.ImportOptions{Update: cfg.Update, DryRun: cfg.DryRun}
	var err error
	switch cfg.Kind {
	case Organizations:
		err = runKind(ctx, im, func(row *OrganizationRow) (storage.Organization, error) {
			return row.record(im.now)
		}, func(o storage.Organization) (string, string) { return o.ID, "" },
			func(ctx context.Context, recs []storage.Organization) (storage.ImportResult, error) {
				return cfg.Store.ImportOrganizations(ctx, recs, opts)
			}, func(o storage.Organization, err error) error { return err })
	case Merchants:
		orgs, lerr := orgIDs(ctx, cfg.Store)
		if lerr != nil {
			return im.sum, lerr
		}
		err = runKind(ctx, im, func(row *MerchantRow) (storage.Merchant, error) {
			m, err := row.record(im.now)
			if err == nil && m.OrganizationID != "" && !orgs[m.OrganizationID] {
				err = refuse("organization_id", "organization %q does not exist: import the organizations first", m.OrganizationID)
			}
			return m, err
		}, func(m storage.Merchant) (string, string) { return m.ID, "" },
			func(ctx context.Context, recs []storage.Merchant) (storage.ImportResult, error) {
				return cfg.Store.ImportMerchants(ctx, recs, opts)
			}, func(m storage.Merchant, err error) error {
				if errors.Is(err, storage.ErrNotFound) {
					return refuse("organization_id", "organization %q does not exist", m.OrganizationID)
				}
				return err
			})
	case Accounts:
		err = im.accounts(ctx, opts)
	case Clients:
		err = im.clients(ctx, opts)
	default:
		err = fmt.Errorf("unknown kind %q", cfg.Kind)
	}
	im.sum.Elapsed = time.Since(im.start)
	return im.sum, err
}

// run is the state of one import.
type run struct {
	cfg   Config
	start time.Time
	now   time.Time // stamps records without created_at; an update's revocations
	in    *countingReader
	sum   Summary
	// Under DryRun nothing is written, so a later batch cannot find an
	// earlier one's rows: digests of the ids and usernames read so far
	// stand in for them (an 8-byte digest and a 4-byte line per row, and
	// for accounts two 8-byte digests more, before the maps' overhead).
	seed      maphash.Seed
	seenIDs   map[uint64]int32  // id digest -> line
	seenNames map[uint64]uint64 // username digest -> id digest
}

// idSet lists the records of one kind (what, in an error) and returns the
// set of their ids, which rows are checked against before they are stored.
func idSet[T any](ctx context.Context, what string, list func(context.Context) ([]T, error), id func(T) string) (map[string]bool, error) {
	recs, err := list(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	ids := make(map[string]bool, len(recs))
	for _, r := range recs {
		ids[id(r)] = true
	}
	return ids, nil
}

func orgIDs(ctx context.Context, st Store) (map[string]bool, error) {
	return idSet(ctx, "organizations", st.ListOrganizations, func(o storage.Organization) string { return o.ID })
}

func merchantIDs(ctx context.Context, st Store) (map[string]bool, error) {
	return idSet(ctx, "merchants", st.ListMerchants, func(m storage.Merchant) string { return m.ID })
}

func (im *run) accounts(ctx context.Context, opts storage.ImportOptions) error {
	merchants, err := merchantIDs(ctx, im.cfg.Store)
	if err != nil {
		return err
	}
	orgs, err := orgIDs(ctx, im.cfg.Store)
	if err != nil {
		return err
	}
	clients, err := idSet(ctx, "clients", im.cfg.Store.ListClients, func(c storage.Client) string { return c.ID })
	if err != nil {
		return err
	}
	owners := map[storage.OwnerType]map[string]bool{storage.OwnerMerchant: merchants, storage.OwnerOrganization: orgs}
	opts.Now = im.now
	return runKind(ctx, im, func(row *AccountRow) (storage.Account, error) {
		a, err := row.record(im.now, im.cfg.AllowWeak)
		if err != nil {
			return a, err
		}
		if clients[a.ID] {
			return a, refuse("id", "%q is a client's id; account ids and client ids must differ (an account id is the subject of its ID tokens)", a.ID)
		}
		if a.MerchantID != "" && !merchants[a.MerchantID] {
			return a, refuse("merchant_id", "merchant %q does not exist: import the merchants first", a.MerchantID)
		}
		for _, m := range a.Memberships {
			if !owners[m.Type][m.ID] {
				return a, refuse("memberships", "%s %q does not exist: import the %ss first", m.Type, m.ID, m.Type)
			}
		}
		return a, nil
	}, func(a storage.Account) (string, string) {
		realm := ""
		if a.Kind == storage.Guest {
			realm = a.MerchantID
		}
		return a.ID, string(a.Kind) + "\x00" + realm + "\x00" + strings.ToLower(strings.TrimSpace(a.Username))
	}, func(ctx context.Context, recs []storage.Account) (storage.ImportResult, error) {
		return im.cfg.Store.ImportAccounts(ctx, recs, opts)
	}, func(a storage.Account, err error) error {
		switch {
		case errors.Is(err, storage.ErrAlreadyExists):
			return refuse("username", "%s", usernameTaken(a))
		case errors.Is(err, storage.ErrNotFound) && a.Kind == storage.Guest:
			return refuse("merchant_id", "merchant %q does not exist", a.MerchantID)
		case errors.Is(err, storage.ErrNotFound):
			return refuse("memberships", "a merchant or organization a membership names does not exist")
		case errors.Is(err, storage.ErrKindChange):
			return refuse("kind", "%v (delete the account and import it again)", err)
		}
		return err
	})
}

func usernameTaken(a storage.Account) string {
	if a.Kind == storage.Guest {
		return fmt.Sprintf("username %q is another account's at merchant %q", a.Username, a.MerchantID)
	}
	return fmt.Sprintf("username %q is another staff account's", a.Username)
}

func (im *run) clients(ctx context.Context, opts storage.ImportOptions) error {
	if im.cfg.Keys == nil {
		return errors.New("importing clients needs the system secret's keys")
	}
	merchants, err := merchantIDs(ctx, im.cfg.Store)
	if err != nil {
		return err
	}
	orgs, err := orgIDs(ctx, im.cfg.Store)
	if err != nil {
		return err
	}
	return runKind(ctx, im, func(row *ClientRow) (storage.Client, error) {
		c, err := row.record(im.now, im.cfg.Keys, im.cfg.Dialects)
		row.ClientSecret = "" // used: drop it as soon as it is hashed
		if err != nil {
			return c, err
		}
		if c.MerchantID != "" && !merchants[c.MerchantID] {
			return c, refuse("merchant_id", "merchant %q does not exist: import the merchants first", c.MerchantID)
		}
		if c.OrganizationID != "" && !orgs[c.OrganizationID] {
			return c, refuse("organization_id", "organization %q does not exist: import the organizations first", c.OrganizationID)
		}
		// A client id must never be an account's (account ids are the
		// subjects of ID tokens). Clients are few: one lookup each.
		switch _, err := im.cfg.Store.GetAccount(ctx, c.ID); {
		case err == nil:
			return c, refuse("client_id", "%q is an account's id; client ids and account ids must differ", c.ID)
		case !errors.Is(err, storage.ErrNotFound):
			return c, fmt.Errorf("look up account %q: %w", c.ID, err)
		}
		return c, nil
	}, func(c storage.Client) (string, string) { return c.ID, "" },
		func(ctx context.Context, recs []storage.Client) (storage.ImportResult, error) {
			return im.cfg.Store.ImportClients(ctx, recs, opts)
		}, func(c storage.Client, err error) error {
			switch {
			case errors.Is(err, storage.ErrKindChange):
				return refuse("", "%v (register a new client instead)", err)
			case errors.Is(err, storage.ErrNotFound) && c.OrganizationID != "" && c.MerchantID == "":
				return refuse("organization_id", "organization %q does not exist", c.OrganizationID)
			case errors.Is(err, storage.ErrNotFound):
				return refuse("merchant_id", "merchant %q does not exist", c.MerchantID)
			}
			return err
		})
}

// runKind reads rows of type R, checks each into a record T, and stores
// them in batches. keys gives a record's id and, for accounts, its
// username in the form the database compares; failed words a row the
// store refused.
func runKind[R any, T any](ctx context.Context, im *run,
	check func(row *R) (T, error),
	keys func(T) (id, unique string),
	store func(ctx context.Context, recs []T) (storage.ImportResult, error),
	failed func(rec T, err error) error,
) error {
	var rr rowReader
	switch im.cfg.Format {
	case JSONLines:
		rr = newJSONReader(im.in)
	case CSV:
		cr, err := newCSVReader(im.in, reflect.TypeFor[R]())
		if err != nil {
			return err
		}
		rr = cr
	default:
		return fmt.Errorf("unknown format %q", im.cfg.Format)
	}
	if im.cfg.DryRun {
		im.seed = maphash.MakeSeed()
		im.seenIDs, im.seenNames = map[uint64]int32{}, map[uint64]uint64{}
	}
	batch := make([]T, 0, im.cfg.BatchSize)
	lines := make([]int, 0, im.cfg.BatchSize)
	batchBytes := int64(0)
	var held []*RowError
	// Rows refused while reading are held until their batch is stored, so
	// the report lists every refusal in file order.
	report := func() error {
		slices.SortStableFunc(held, func(a, b *RowError) int { return a.Line - b.Line })
		for _, re := range held {
			if err := im.reject(re); err != nil {
				return err
			}
		}
		clear(held)
		held = held[:0]
		im.progress()
		return nil
	}
	flush := func() error {
		if len(batch) > 0 {
			res, err := store(ctx, batch)
			if err != nil {
				return fmt.Errorf("store the rows of lines %d to %d: %w", lines[0], lines[len(lines)-1], err)
			}
			im.sum.Created += res.Created
			im.sum.Updated += res.Updated
			im.sum.Skipped += res.Skipped
			for i := range batch {
				if ferr, ok := res.Failed[i]; ok {
					held = append(held, asRowError(lines[i], failed(batch[i], ferr)))
				}
			}
			clear(batch) // drop the records (and their hashes) now
			batch, lines = batch[:0], lines[:0]
		}
		batchBytes = im.in.n // a batch of refusals alone ends here too
		return report()
	}
	// take checks one row read (or refused by the reader) and adds it to
	// the batch or to the refusals; only what stops the import is returned.
	take := func(row *R, line int, err error) error {
		im.sum.Read++
		var re *RowError
		if errors.As(err, &re) {
			held = append(held, re)
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		rec, err := check(row)
		if err != nil {
			var fe *fieldError
			if !errors.As(err, &fe) && !errors.As(err, &re) && !errors.Is(err, oauth.ErrRejected) {
				return fmt.Errorf("line %d: %w", line, err) // a lookup failed, not the row
			}
			held = append(held, asRowError(line, err))
			return nil
		}
		if im.cfg.DryRun {
			id, unique := keys(rec)
			if dup, err := im.seen(line, id, unique); dup || err != nil {
				if err != nil {
					held = append(held, asRowError(line, err))
				}
				return nil
			}
		}
		batch, lines = append(batch, rec), append(lines, line)
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var row R
		line, err := rr.next(&row)
		if err == io.EOF {
			break
		}
		var re *RowError
		if err != nil && !errors.As(err, &re) {
			return fmt.Errorf("line %d: %w", line, err) // the file cannot be read on
		}
		if err := take(&row, line, err); err != nil {
			return err
		}
		// Refusals count toward a batch too, so a file of bad rows is
		// reported as it goes and holds no more memory than a good one.
		if len(batch)+len(held) >= im.cfg.BatchSize || im.in.n-batchBytes >= maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		if im.sum.Read%1000 == 0 {
			im.progress()
		}
	}
	if err := flush(); err != nil {
		return err
	}
	im.progress()
	return nil
}

// seen finds, under DryRun, a row whose id an earlier row of the file
// had (counted as the real import will count it: skipped, or updated) or
// whose username an earlier row of another id had (an error).
func (im *run) seen(line int, id, unique string) (dup bool, err error) {
	idSum := maphash.String(im.seed, id)
	if unique != "" {
		nameSum := maphash.String(im.seed, unique)
		if other, ok := im.seenNames[nameSum]; ok && other != idSum {
			return false, refuse("username", "the same username as line %d, another account's", im.seenIDs[other])
		}
		im.seenNames[nameSum] = idSum
	}
	if _, ok := im.seenIDs[idSum]; ok {
		if im.cfg.Update {
			im.sum.Updated++
		} else {
			im.sum.Skipped++
		}
		return true, nil
	}
	im.seenIDs[idSum] = int32(min(line, 1<<31-1))
	return false, nil
}

func (im *run) reject(re *RowError) error {
	im.sum.Failed++
	if err := im.cfg.OnError(*re); err != nil {
		return fmt.Errorf("report line %d: %w", re.Line, err)
	}
	return nil
}

func (im *run) progress() {
	s := im.sum
	s.Elapsed = time.Since(im.start)
	im.cfg.OnProgress(Progress{Summary: s, Bytes: im.in.n})
}

// countingReader counts the bytes read, for the progress's ETA.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
