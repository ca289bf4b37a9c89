package importer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/importer"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/postgres"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// A real bcrypt hash (cost 10) of "password", as Python's bcrypt and PHP
// write it.
const bcryptHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

var keys = func() *secrets.Keys {
	k, err := secrets.NewKeys(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		panic(err)
	}
	return k
}()

// backends runs fn on a fresh SQLite file and, when configured, a fresh
// PostgreSQL schema.
func backends(t *testing.T, fn func(t *testing.T, st storage.Storage)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(context.Background(), pgtest.DSN(t), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

func openSQLite(t *testing.T) storage.Storage {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var fixed = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// run imports text as kind and returns the summary and the refused rows.
func run(t *testing.T, st storage.Storage, kind importer.Kind, format importer.Format, text string, tweak ...func(*importer.Config)) (importer.Summary, []importer.RowError) {
	t.Helper()
	var errs []importer.RowError
	cfg := importer.Config{Store: st, Keys: keys, Dialects: dialect.ClientDefaults(), Kind: kind, Format: format,
		Now: func() time.Time { return fixed }, OnError: func(e importer.RowError) error { errs = append(errs, e); return nil }}
	for _, f := range tweak {
		f(&cfg)
	}
	sum, err := importer.Run(context.Background(), cfg, strings.NewReader(text))
	if err != nil {
		t.Fatalf("import %s: %v", kind, err)
	}
	if sum.Failed != len(errs) {
		t.Fatalf("summary says %d failed, %d reported", sum.Failed, len(errs))
	}
	return sum, errs
}

func counts(s importer.Summary) [5]int {
	return [5]int{s.Read, s.Created, s.Updated, s.Skipped, s.Failed}
}

// saltedDigest is staff s-1's password as its old system stored it: the hex
// SHA-256 of the password "password" followed by the salt "NaCl", which is
// what the row's password_first order says.
var saltedDigest = func() string {
	sum := sha256.Sum256([]byte("password" + "NaCl"))
	return hex.EncodeToString(sum[:])
}()

// The same records in both formats.
var files = map[importer.Format]map[importer.Kind]string{
	importer.JSONLines: {
		importer.Organizations: `{"id":"o-1","name":"Group One"}` + "\n",
		importer.Merchants: `{"id":"m-1","name":"Café 1","organization_id":"o-1","created_at":"2020-01-02T03:04:05Z"}
{"id":"m-2","name":"Café 2"}
`,
		importer.Accounts: `{"id":"g-1","kind":"guest","username":"alice@example.com","merchant_id":"m-1","printed_card_number":"6000986775","password_hash":"` + bcryptHash + `"}
{"id":"s-1","kind":"staff","username":"boss","memberships":["merchant:m-1","organization:o-1"],"password_hash":"` + saltedDigest + `","password_salt":"NaCl","password_salt_order":"password_first","password_scheme":"sha256-salted","disabled":true}
`,
		importer.Clients: `{"client_id":"3FTmkQuXBnotarealcklientID","client_secret":"654secretnx4","client_name":"Loyalty app","grant_types":["password","refresh_token"],"scope":"user_read","merchant_id":"m-1","dialect":"paytronix"}
{"client_id":"till","client_name":"Till","token_endpoint_auth_method":"none","grant_types":["authorization_code"],"redirect_uris":["https://till.example.com/cb"],"account_kind":"staff"}
`,
	},
	importer.CSV: {
		importer.Organizations: "id,name\no-1,Group One\n",
		importer.Merchants:     "id,name,organization_id,created_at\nm-1,Café 1,o-1,2020-01-02T03:04:05Z\nm-2,Café 2,,\n",
		importer.Accounts: "id,kind,username,merchant_id,printed_card_number,memberships,password_hash,password_salt,password_salt_order,password_scheme,disabled\n" +
			"g-1,guest,alice@example.com,m-1,6000986775,," + bcryptHash + ",,,,\n" +
			"s-1,staff,boss,,,merchant:m-1 organization:o-1," + saltedDigest + ",NaCl,password_first,sha256-salted,true\n",
		importer.Clients: "client_id,client_secret,client_name,grant_types,redirect_uris,scope,merchant_id,dialect,token_endpoint_auth_method,account_kind\n" +
			"3FTmkQuXBnotarealcklientID,654secretnx4,Loyalty app,password refresh_token,,user_read,m-1,paytronix,,\n" +
			"till,,Till,authorization_code,https://till.example.com/cb,,,,none,staff\n",
	},
}

func weak(c *importer.Config) { c.AllowWeak = []string{secrets.SchemeSHA256Salted} }

// TestEachKindBothFormats imports every kind from JSON Lines and from CSV
// and reads the records back: ids, references, memberships, the bcrypt
// hash unchanged, the salted SHA digest in latchkey's form, the client
// secret as its keyed hash only.
func TestEachKindBothFormats(t *testing.T) {
	for _, format := range []importer.Format{importer.JSONLines, importer.CSV} {
		t.Run(string(format), func(t *testing.T) {
			backends(t, func(t *testing.T, st storage.Storage) {
				for _, kind := range importer.Kinds {
					sum, errs := run(t, st, kind, format, files[format][kind], weak)
					if len(errs) > 0 || sum.Created != sum.Read || sum.Read == 0 {
						t.Fatalf("%s: %v, errors %v", kind, sum, errs)
					}
				}
				checkImported(t, st)
			})
		})
	}
}

func checkImported(t *testing.T, st storage.Storage) {
	ctx := context.Background()
	m, err := st.GetMerchant(ctx, "m-1")
	if err != nil || m.Name != "Café 1" || m.OrganizationID != "o-1" || !m.CreatedAt.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("merchant m-1: %+v, %v", m, err)
	}
	if m, err := st.GetMerchant(ctx, "m-2"); err != nil || !m.CreatedAt.Equal(fixed) {
		t.Fatalf("merchant m-2: %+v, %v", m, err)
	}
	g, err := st.GetAccount(ctx, "g-1")
	if err != nil || g.PasswordHash != bcryptHash || g.Kind != storage.Guest || g.MerchantID != "m-1" || g.PrintedCardNumber != "6000986775" {
		t.Fatalf("guest: %+v, %v", g, err)
	}
	s, err := st.GetAccount(ctx, "s-1")
	want, _ := secrets.SaltedSHAHash("sha256", false, "NaCl", saltedDigest)
	if err != nil || s.PasswordHash != want || !s.Disabled || len(s.Memberships) != 2 {
		t.Fatalf("staff: %+v, %v", s, err)
	}
	// The stored form verifies the password the digest was made of, in the
	// order the row named, and nothing else.
	for password, right := range map[string]bool{"password": true, "NaClpassword": false, "Password": false} {
		if ok, _, err := secrets.VerifyPassword(s.PasswordHash, password, secrets.DefaultArgon2); ok != right || err != nil {
			t.Fatalf("staff's imported salted SHA-256 with %q: ok %v, %v; want %v", password, ok, err, right)
		}
	}
	c, err := st.GetClient(ctx, "3FTmkQuXBnotarealcklientID")
	if err != nil || c.SecretHash != keys.HashClientSecret("654secretnx4") || c.Dialect != "paytronix" || c.MerchantID != "m-1" {
		t.Fatalf("client: %+v, %v", c, err)
	}
	if c.RotateRefresh {
		t.Fatal("a paytronix client must get its dialect's default: keep refresh tokens")
	}
	pub, err := st.GetClient(ctx, "till")
	if err != nil || !pub.Public() || !pub.RequirePKCE || pub.AccountKind != storage.Staff {
		t.Fatalf("public client: %+v, %v", pub, err)
	}
}

// dump is every record the Directory holds, password hashes included, to
// compare a database before and after.
func dump(t *testing.T, st storage.Storage) string {
	ctx := context.Background()
	var b strings.Builder
	orgs, err := st.ListOrganizations(ctx)
	must(t, err)
	ms, err := st.ListMerchants(ctx)
	must(t, err)
	as, err := st.ListAccounts(ctx, storage.AccountFilter{})
	must(t, err)
	cs, err := st.ListClients(ctx)
	must(t, err)
	for i := range as { // ListAccounts leaves guests' memberships out; read each whole
		as[i], err = st.GetAccount(ctx, as[i].ID)
		must(t, err)
	}
	fmt.Fprintf(&b, "%+v\n%+v\n%+v\n%+v\n", orgs, ms, as, cs)
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// guests is n guest rows of m-1, JSON Lines.
func guests(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id":"gst-%d","kind":"guest","username":"guest%d","merchant_id":"m-1","password_hash":"%s"}`+"\n", i, i, bcryptHash)
	}
	return b.String()
}

func setupOwners(t *testing.T, st storage.Storage) {
	for _, kind := range []importer.Kind{importer.Organizations, importer.Merchants} {
		run(t, st, kind, importer.JSONLines, files[importer.JSONLines][kind])
	}
}

// TestRerunChangesNothing imports the same file twice, in batches smaller
// than the file: the second run skips every row, and the database reads
// the same.
func TestRerunChangesNothing(t *testing.T) {
	backends(t, func(t *testing.T, st storage.Storage) {
		setupOwners(t, st)
		text := guests(25) + files[importer.JSONLines][importer.Accounts]
		small := func(c *importer.Config) { c.BatchSize = 4; weak(c) }
		first, errs := run(t, st, importer.Accounts, importer.JSONLines, text, small)
		if counts(first) != [5]int{27, 27, 0, 0, 0} || errs != nil {
			t.Fatalf("first import: %v %v", first, errs)
		}
		before := dump(t, st)
		second, _ := run(t, st, importer.Accounts, importer.JSONLines, text, small)
		if counts(second) != [5]int{27, 0, 0, 27, 0} {
			t.Fatalf("second import: %v", second)
		}
		if after := dump(t, st); after != before {
			t.Fatalf("a rerun changed the database:\nbefore %s\nafter  %s", before, after)
		}
		// Clients too: their secrets hash the same again.
		run(t, st, importer.Clients, importer.JSONLines, files[importer.JSONLines][importer.Clients])
		before = dump(t, st)
		sum, _ := run(t, st, importer.Clients, importer.JSONLines, files[importer.JSONLines][importer.Clients])
		if counts(sum) != [5]int{2, 0, 0, 2, 0} || dump(t, st) != before {
			t.Fatalf("client rerun: %v", sum)
		}
	})
}

// TestDryRunWritesNothing checks a dry run against the database and the
// whole file (duplicates across batches included), writes nothing, and
// counts what the real import then does.
func TestDryRunWritesNothing(t *testing.T) {
	backends(t, func(t *testing.T, st storage.Storage) {
		setupOwners(t, st)
		run(t, st, importer.Accounts, importer.JSONLines, guests(3)) // gst-0..gst-2 exist
		text := guests(10) +
			`{"id":"gst-5","kind":"guest","username":"guest5","merchant_id":"m-1","password_hash":"` + bcryptHash + `"}` + "\n" + // a duplicate id, batches later
			`{"id":"g-x","kind":"guest","username":"GUEST7","merchant_id":"m-1","password_hash":"` + bcryptHash + `"}` + "\n" + // another id's username in the file
			`{"id":"g-y","kind":"guest","username":"guest1","merchant_id":"m-1","password_hash":"` + bcryptHash + `"}` + "\n" + // another id's username in the database
			`{"id":"g-z","kind":"guest","username":"z","merchant_id":"m-9","password_hash":"` + bcryptHash + `"}` + "\n" // unknown merchant
		before := dump(t, st)
		dry, dryErrs := run(t, st, importer.Accounts, importer.JSONLines, text, func(c *importer.Config) { c.DryRun, c.BatchSize = true, 3 })
		if after := dump(t, st); after != before {
			t.Fatalf("a dry run changed the database:\nbefore %s\nafter  %s", before, after)
		}
		real, realErrs := run(t, st, importer.Accounts, importer.JSONLines, text, func(c *importer.Config) { c.BatchSize = 3 })
		if counts(dry) != counts(real) || counts(real) != [5]int{14, 7, 0, 4, 3} {
			t.Fatalf("dry run %v, real import %v; want both read 14, created 7, skipped 4, failed 3", dry, real)
		}
		lines := func(errs []importer.RowError) (out []string) {
			for _, e := range errs {
				out = append(out, fmt.Sprintf("%d/%s", e.Line, e.Field))
			}
			return out
		}
		want := []string{"12/username", "13/username", "14/merchant_id"}
		if !slices.Equal(lines(dryErrs), want) || !slices.Equal(lines(realErrs), want) {
			t.Fatalf("dry run refused %v, real import %v; want %v", lines(dryErrs), lines(realErrs), want)
		}
	})
}

// TestMalformedRowsReported feeds rows broken in every way a file can be
// and checks each is reported with its line and field while the good rows
// around them are imported, and that no report quotes a hash or secret.
func TestMalformedRowsReported(t *testing.T) {
	st := openSQLite(t)
	setupOwners(t, st)
	good := func(id string) string {
		return `{"id":"` + id + `","kind":"guest","username":"` + id + `","merchant_id":"m-1","password_hash":"` + bcryptHash + `"}`
	}
	secretHash := "$2b$04$abcdefghijklmnopqrstuuSECRETSECRETSECRETSECRETSECR"
	lines := []string{
		good("ok-1"),
		`{"id":"bad-json",`,
		`{"id":"x","kind":"guest","username":"x","merchant_id":"m-1","password_hash":"` + bcryptHash + `","colour":"red"}`,
		`{"id":"x2","kind":"robot","username":"x2","password_hash":"` + bcryptHash + `"}`,
		`{"kind":"guest","username":"noid","merchant_id":"m-1","password_hash":"` + bcryptHash + `"}`,
		`{"id":"x3","kind":"guest","username":"x3","merchant_id":"nope","password_hash":"` + bcryptHash + `"}`,
		`{"id":"x4","kind":"staff","username":"x4","memberships":["merchant:m-1","shop:7"],"password_hash":"` + bcryptHash + `"}`,
		`{"id":"x5","kind":"guest","username":"x5","merchant_id":"m-1","password_hash":"` + secretHash + `"}`,
		`{"id":"x6","kind":"guest","username":"x6","merchant_id":"m-1","password_hash":"plaintext-password-123"}`,
		`{"id":"x7","kind":"guest","username":"x7","merchant_id":"m-1","disabled":"yes","password_hash":"` + bcryptHash + `"}`,
		`{"id":"x8","kind":"guest","username":"x8","merchant_id":"m-1","password_hash":"` + strings.Repeat("a", importer.MaxLine) + `"}`,
		good("ok-2"),
	}
	sum, errs := run(t, st, importer.Accounts, importer.JSONLines, strings.Join(lines, "\n")+"\n")
	if counts(sum) != [5]int{12, 2, 0, 0, 10} {
		t.Fatalf("summary %v", sum)
	}
	want := []string{"2/", "3/colour", "4/kind", "5/id", "6/merchant_id", "7/memberships", "8/password_hash", "9/password_hash", "10/disabled", "11/"}
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%d/%s", e.Line, e.Field))
		for _, secret := range []string{"SECRETSECRET", "plaintext-password", bcryptHash, "aaaaaaaa"} {
			if strings.Contains(e.Reason, secret) {
				t.Errorf("line %d's reason quotes a hash or password: %s", e.Line, e.Reason)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("refused %v, want %v\n%v", got, want, errs)
	}
	// In batches of 2, refusals read and refusals by the database are
	// still reported in file order.
	st2 := openSQLite(t)
	setupOwners(t, st2)
	sum2, errs2 := run(t, st2, importer.Accounts, importer.JSONLines, strings.Join(lines, "\n")+"\n", func(c *importer.Config) { c.BatchSize = 2 })
	var got2 []string
	for _, e := range errs2 {
		got2 = append(got2, fmt.Sprintf("%d/%s", e.Line, e.Field))
	}
	if counts(sum2) != counts(sum) || !slices.Equal(got2, want) {
		t.Fatalf("in batches of 2: %v, refused %v", sum2, got2)
	}
	for _, id := range []string{"ok-1", "ok-2"} {
		if _, err := st.GetAccount(context.Background(), id); err != nil {
			t.Fatalf("good row %s not imported: %v", id, err)
		}
	}
	// CSV: a row with too few cells and a bad boolean; the rest imports.
	csvText := "id,kind,username,merchant_id,password_hash,disabled\n" +
		"c-1,guest,c1,m-1," + bcryptHash + ",false\n" +
		"c-2,guest,c2\n" +
		"c-3,guest,c3,m-1," + bcryptHash + ",perhaps\n" +
		"c-4,guest,c4,m-1," + bcryptHash + ",\n"
	sum, errs = run(t, st, importer.Accounts, importer.CSV, csvText)
	if counts(sum) != [5]int{4, 2, 0, 0, 2} || errs[0].Line != 3 || errs[1].Line != 4 || errs[1].Field != "disabled" {
		t.Fatalf("CSV: %v %+v", sum, errs)
	}
	// An unknown CSV column stops the import before any row.
	_, err := importer.Run(context.Background(), importer.Config{Store: st, Kind: importer.Accounts, Format: importer.CSV},
		strings.NewReader("id,kind,colour\n"))
	if err == nil || !strings.Contains(err.Error(), `"colour"`) {
		t.Fatalf("unknown column: %v", err)
	}
}

// TestUpdateReplaces checks --update replaces an account's username, hash,
// card and memberships, keeps its creation time, and counts updates.
func TestUpdateReplaces(t *testing.T) {
	backends(t, func(t *testing.T, st storage.Storage) {
		setupOwners(t, st)
		run(t, st, importer.Accounts, importer.JSONLines, files[importer.JSONLines][importer.Accounts], weak)
		before, err := st.GetAccount(context.Background(), "s-1")
		must(t, err)
		text := `{"id":"s-1","kind":"staff","username":"chief","memberships":["merchant:m-2"],"password_hash":"` + bcryptHash + `","created_at":"2001-01-01T00:00:00Z"}` + "\n" +
			`{"id":"g-new","kind":"guest","username":"new","merchant_id":"m-2","password_hash":"` + bcryptHash + `"}` + "\n"
		sum, errs := run(t, st, importer.Accounts, importer.JSONLines, text, func(c *importer.Config) { c.Update = true })
		if counts(sum) != [5]int{2, 1, 1, 0, 0} || errs != nil {
			t.Fatalf("update: %v %v", sum, errs)
		}
		s, err := st.GetAccount(context.Background(), "s-1")
		must(t, err)
		wantMembers := []storage.Membership{{Type: storage.OwnerMerchant, ID: "m-2"}}
		if s.Username != "chief" || s.PasswordHash != bcryptHash || !reflect.DeepEqual(s.Memberships, wantMembers) ||
			!s.CreatedAt.Equal(before.CreatedAt) || s.Disabled {
			t.Fatalf("updated staff: %+v", s)
		}
		if !s.TokensRevokedAt.Equal(fixed) || !before.TokensRevokedAt.IsZero() {
			t.Fatalf("a replaced password hash must revoke the account's tokens as of the import: revoked at %v", s.TokensRevokedAt)
		}
	})
}

// TestClientSecretNeverReported checks a refused client row's report names
// the field without the secret.
func TestClientSecretNeverReported(t *testing.T) {
	st := openSQLite(t)
	setupOwners(t, st)
	text := `{"client_id":"acc_bad","client_secret":"s3cr3t-value-xyz","client_name":"Bad","grant_types":["client_credentials"]}
{"client_id":"pub","client_secret":"s3cr3t-value-xyz","client_name":"Pub","token_endpoint_auth_method":"none","grant_types":["authorization_code"],"redirect_uris":["https://x.example/cb"]}
{"client_id":"c1","client_secret":"s3cr3t-value-xyz","client_name":"Bad grant","grant_types":["magic"]}
{"client_id":"c2","client_secret":12345,"client_name":"Number"}
`
	sum, errs := run(t, st, importer.Clients, importer.JSONLines, text)
	if counts(sum) != [5]int{4, 0, 0, 0, 4} {
		t.Fatalf("summary %v %v", sum, errs)
	}
	wantFields := []string{"client_id", "client_secret", "", "client_secret"}
	for i, e := range errs {
		if strings.Contains(e.Reason, "s3cr3t") || strings.Contains(e.Reason, "12345") {
			t.Errorf("line %d's reason quotes the secret: %s", e.Line, e.Reason)
		}
		if e.Field != wantFields[i] && !(i == 2 && e.Field == "grant_types") {
			t.Errorf("line %d: field %q, want %q (%s)", e.Line, e.Field, wantFields[i], e.Reason)
		}
	}
}

// TestClientsBoundToOrganizations: a client row may name organization_id
// instead of merchant_id; an unknown organization, or both bindings, is
// the row's refusal naming the field, and the rest imports.
func TestClientsBoundToOrganizations(t *testing.T) {
	backends(t, func(t *testing.T, st storage.Storage) {
		setupOwners(t, st)
		text := `{"client_id":"org-app","client_secret":"org-app-secret-1","client_name":"Group app","grant_types":["client_credentials"],"account_kind":"staff","organization_id":"o-1"}
{"client_id":"nowhere","client_secret":"org-app-secret-2","client_name":"Nowhere","grant_types":["client_credentials"],"account_kind":"staff","organization_id":"o-nope"}
{"client_id":"both","client_secret":"org-app-secret-3","client_name":"Both","grant_types":["client_credentials"],"account_kind":"staff","organization_id":"o-1","merchant_id":"m-1"}
`
		sum, errs := run(t, st, importer.Clients, importer.JSONLines, text)
		if counts(sum) != [5]int{3, 1, 0, 0, 2} {
			t.Fatalf("summary %v %+v", sum, errs)
		}
		if len(errs) != 2 || errs[0].Line != 2 || errs[0].Field != "organization_id" || errs[1].Line != 3 {
			t.Fatalf("refusals %+v, want line 2 (organization_id) and line 3", errs)
		}
		c, err := st.GetClient(context.Background(), "org-app")
		if err != nil || c.OrganizationID != "o-1" || c.MerchantID != "" {
			t.Fatalf("imported client: %+v, %v", c, err)
		}
		// --update replaces a client's settings but never what it is bound
		// to nor whom it logs in: that would hand its tokens to another tenant.
		update := func(c *importer.Config) { c.Update = true }
		again := `{"client_id":"org-app","client_secret":"org-app-secret-1","client_name":"Group app, renamed","grant_types":["client_credentials"],"account_kind":"staff","organization_id":"o-1"}
{"client_id":"org-app","client_secret":"org-app-secret-1","client_name":"Moved","grant_types":["client_credentials"],"account_kind":"staff","merchant_id":"m-1"}
`
		sum, errs = run(t, st, importer.Clients, importer.JSONLines, again, update)
		if sum.Updated != 1 || len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Reason, "register a new client") {
			t.Fatalf("update: %v %+v", sum, errs)
		}
		c, err = st.GetClient(context.Background(), "org-app")
		if err != nil || c.OrganizationID != "o-1" || c.MerchantID != "" || c.Name != "Group app, renamed" {
			t.Fatalf("client after the updates: %+v, %v", c, err)
		}
		sum, errs = run(t, st, importer.Clients, importer.JSONLines,
			`{"client_id":"org-app","client_secret":"org-app-secret-1","client_name":"Guests","grant_types":["client_credentials"],"account_kind":"guest","organization_id":"o-1"}`+"\n", update)
		if sum.Updated != 0 || len(errs) != 1 {
			t.Fatalf("an account kind change: %v %+v", sum, errs)
		}
		// A client stored with no account kind logs in guests: a row
		// naming guest (or nothing) changes no binding.
		if err := st.CreateClient(context.Background(), storage.Client{ID: "old-app", Name: "Old", GrantTypes: []string{"client_credentials"},
			SecretHash: "x", MerchantID: "m-1", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		sum, errs = run(t, st, importer.Clients, importer.JSONLines,
			`{"client_id":"old-app","client_secret":"old-app-secret-1","client_name":"Old, renamed","grant_types":["client_credentials"],"account_kind":"guest","merchant_id":"m-1"}`+"\n", update)
		if sum.Updated != 1 || len(errs) != 0 {
			t.Fatalf("a guest row over a client stored with no kind: %v %+v", sum, errs)
		}
	})
}
