package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/importer"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// guest is one guest row of m-1, JSON Lines, with the bcrypt hash.
func guest(id, username string, extra string) string {
	return `{"id":"` + id + `","kind":"guest","username":"` + username + `","merchant_id":"m-1","password_hash":"` + bcryptHash + `"` + extra + "}\n"
}

// TestDuplicateIDsInOneFile checks docs/MIGRATING.md's "a row given twice
// in the file is imported once; the later one is skipped (replaces it
// under --update)", with both occurrences in one batch and in two, and
// that a dry run counts it as the real import does.
func TestDuplicateIDsInOneFile(t *testing.T) {
	text := guest("d-1", "first", "") + guest("d-2", "two", "") + guest("d-1", "second", "")
	backends(t, func(t *testing.T, st storage.Storage) {
		setupOwners(t, st)
		for _, c := range []struct {
			update   bool
			batch    int
			want     [5]int
			username string
		}{
			{false, 10, [5]int{3, 2, 0, 1, 0}, "first"},
			{false, 1, [5]int{3, 2, 0, 1, 0}, "first"},
			{true, 10, [5]int{3, 2, 1, 0, 0}, "second"},
			{true, 1, [5]int{3, 2, 1, 0, 0}, "second"},
		} {
			name := fmt.Sprintf("update=%v,batch=%d", c.update, c.batch)
			cfg := func(dry bool) func(*importer.Config) {
				return func(cfg *importer.Config) { cfg.Update, cfg.BatchSize, cfg.DryRun = c.update, c.batch, dry }
			}
			before := dump(t, st)
			dry, errs := run(t, st, importer.Accounts, importer.JSONLines, text, cfg(true))
			if counts(dry) != c.want || errs != nil {
				t.Fatalf("%s: dry run %v %v, want %v", name, dry, errs, c.want)
			}
			if dump(t, st) != before {
				t.Fatalf("%s: the dry run wrote", name)
			}
			real, errs := run(t, st, importer.Accounts, importer.JSONLines, text, cfg(false))
			if counts(real) != c.want || errs != nil {
				t.Fatalf("%s: import %v %v, want %v", name, real, errs, c.want)
			}
			a, err := st.GetAccount(context.Background(), "d-1")
			if err != nil || a.Username != c.username {
				t.Fatalf("%s: d-1 is %q (%v), want %q", name, a.Username, err, c.username)
			}
			// Start the next case from no d-1 and d-2: delete them.
			for _, id := range []string{"d-1", "d-2"} {
				must(t, st.DeleteAccount(context.Background(), id))
			}
		}
	})
}

// failingStore fails its failAt-th ImportAccounts call, as a database that
// goes away mid-import would.
type failingStore struct {
	storage.Storage
	calls, failAt int
}

var errDatabaseGone = errors.New("connection refused")

func (s *failingStore) ImportAccounts(ctx context.Context, as []storage.Account, o storage.ImportOptions) (storage.ImportResult, error) {
	if s.calls++; s.calls == s.failAt {
		return storage.ImportResult{}, errDatabaseGone
	}
	return s.Storage.ImportAccounts(ctx, as, o)
}

// TestStorageFailureStopsImport: a failed batch stops the import with a
// message naming its lines; the batches before it stay, and a rerun
// imports the rest and skips them (docs/MIGRATING.md).
func TestStorageFailureStopsImport(t *testing.T) {
	st := openSQLite(t)
	setupOwners(t, st)
	text := guests(10)
	var reported []importer.RowError
	sum, err := importer.Run(context.Background(), importer.Config{Store: &failingStore{Storage: st, failAt: 2},
		Kind: importer.Accounts, Format: importer.JSONLines, BatchSize: 4,
		OnError: func(e importer.RowError) error { reported = append(reported, e); return nil }}, strings.NewReader(text))
	if !errors.Is(err, errDatabaseGone) || !strings.Contains(err.Error(), "lines 5 to 8") {
		t.Fatalf("import over a failing database: %v, want the store's error naming lines 5 to 8", err)
	}
	if sum.Created != 4 || sum.Failed != 0 || reported != nil {
		t.Fatalf("summary %v, reported %v: want the first batch's 4 created and no row blamed", sum, reported)
	}
	if _, err := st.GetAccount(context.Background(), "gst-3"); err != nil {
		t.Fatalf("the batch stored before the failure: %v", err)
	}
	if _, err := st.GetAccount(context.Background(), "gst-4"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a row of the failed batch: %v, want not stored", err)
	}
	again, _ := run(t, st, importer.Accounts, importer.JSONLines, text, func(c *importer.Config) { c.BatchSize = 4 })
	if counts(again) != [5]int{10, 6, 0, 4, 0} {
		t.Fatalf("rerun after the failure: %v", again)
	}

	// A listing that fails stops the import before any row.
	_, err = importer.Run(context.Background(), importer.Config{Store: listFails{st}, Kind: importer.Accounts, Format: importer.JSONLines},
		strings.NewReader(text))
	if !errors.Is(err, errDatabaseGone) || !strings.Contains(err.Error(), "list merchants") {
		t.Fatalf("import when merchants cannot be listed: %v", err)
	}
}

type listFails struct{ storage.Storage }

func (listFails) ListMerchants(context.Context) ([]storage.Merchant, error) {
	return nil, errDatabaseGone
}

// TestCSVLongLineStops: in CSV a line over MaxLine stops the import, naming
// its line (a quoted cell may span lines, so the reader cannot skip it);
// JSON Lines reports it as a failed row (TestMalformedRowsReported).
func TestCSVLongLineStops(t *testing.T) {
	st := openSQLite(t)
	setupOwners(t, st)
	text := "id,kind,username,merchant_id,password_hash\n" +
		"c-1,guest,c1,m-1," + bcryptHash + "\n" +
		"c-2,guest,c2,m-1," + strings.Repeat("a", importer.MaxLine) + "\n" +
		"c-3,guest,c3,m-1," + bcryptHash + "\n"
	_, err := importer.Run(context.Background(), importer.Config{Store: st, Kind: importer.Accounts, Format: importer.CSV},
		strings.NewReader(text))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "64 KiB") {
		t.Fatalf("a CSV line over 64 KiB: %v, want the import stopped naming line 3", err)
	}
	if strings.Contains(err.Error(), "aaaaaaaa") {
		t.Fatalf("the error quotes the line: %.200s", err)
	}
	if _, err := st.GetAccount(context.Background(), "c-3"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a row after the stop: %v, want not imported", err)
	}
}

// TestUpdateKindDisableAndDryRun checks the rest of --update's table in
// docs/MIGRATING.md: a row changing an account's kind fails alone (field
// kind), a disabling revokes the account's tokens, and a dry run of all
// that writes nothing, revocations included.
func TestUpdateKindDisableAndDryRun(t *testing.T) {
	st := openSQLite(t)
	setupOwners(t, st)
	run(t, st, importer.Accounts, importer.JSONLines, guest("u-1", "one", "")+guest("u-2", "two", ""))
	text := guest("u-1", "one", `,"disabled":true`) +
		`{"id":"u-2","kind":"staff","username":"two","password_hash":"` + bcryptHash + `"}` + "\n"
	update := func(dry bool) func(*importer.Config) {
		return func(c *importer.Config) { c.Update, c.DryRun = true, dry }
	}
	before := dump(t, st)
	dry, dryErrs := run(t, st, importer.Accounts, importer.JSONLines, text, update(true))
	if dump(t, st) != before {
		t.Fatal("a dry run of --update wrote")
	}
	real, errs := run(t, st, importer.Accounts, importer.JSONLines, text, update(false))
	if counts(dry) != counts(real) || counts(real) != [5]int{2, 0, 1, 0, 1} {
		t.Fatalf("dry run %v, update %v; want read 2, updated 1, failed 1", dry, real)
	}
	for _, e := range [][]importer.RowError{dryErrs, errs} {
		if len(e) != 1 || e[0].Line != 2 || e[0].Field != "kind" || !strings.Contains(e[0].Reason, "delete the account") {
			t.Fatalf("kind change reported as %+v, want line 2, field kind", e)
		}
	}
	a, err := st.GetAccount(context.Background(), "u-1")
	if err != nil || !a.Disabled || !a.TokensRevokedAt.Equal(fixed) {
		t.Fatalf("disabled by --update: %+v, %v; want disabled and its tokens revoked as of the import", a, err)
	}
	if b, err := st.GetAccount(context.Background(), "u-2"); err != nil || b.Kind != storage.Guest {
		t.Fatalf("the account whose kind a row tried to change: %+v, %v", b, err)
	}
}
