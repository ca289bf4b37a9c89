package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/importer"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import organizations|merchants|accounts|clients FILE",
		Short: "Import records from another system, with their password hashes and client secrets (docs/MIGRATING.md)",
		Long: `Imports organizations, merchants, accounts or clients from FILE, JSON Lines
(.jsonl, .ndjson) or CSV with a header row (.csv), or standard input for "-"
(give --format). The fields of each kind are in docs/MIGRATING.md; import the
kinds in that order, since each refers to those before it by id.

Every record needs its id, and an import can be run again: a record whose id
exists is skipped, or replaced with --update (accounts: merchant, username,
password hash, card, disabled and memberships; a new hash or a disabling
revokes the account's tokens). Account password hashes are kept as they are
(bcrypt, PBKDF2, scrypt, Argon2, salted SHA) and upgraded at the first login;
client secrets, given in clear in the file only, are stored as keyed hashes.

A refused row is written to the error report (line, field, reason; never a
secret or a hash) and the rest is imported; the exit status is then 1.
--dry-run checks everything, against the database too, and writes nothing.`,
		Args: cobra.ExactArgs(2),
		RunE: runImport,
	}
	f := cmd.Flags()
	f.String("format", "", "jsonl or csv (default: from FILE's extension; required for -)")
	f.Bool("update", false, "replace records whose id exists instead of skipping them")
	f.Bool("dry-run", false, "check every row, against the database too, and write nothing")
	f.String("report", "", "error report file (default import-errors-KIND.csv, written only when a row fails)")
	f.StringArray("allow-weak", nil, "import password hashes of this weak scheme anyway, e.g. sha256-salted (repeatable)")
	f.Int("batch", importer.DefaultBatch, "rows per transaction")
	return cmd
}

func runImport(cmd *cobra.Command, args []string) error {
	kind, err := importer.ParseKind(args[0])
	if err != nil {
		return err
	}
	name := args[1]
	f := cmd.Flags()
	formatFlag, _ := f.GetString("format")
	var format importer.Format
	switch {
	case formatFlag != "":
		format, err = importer.ParseFormat(formatFlag)
	case name == "-":
		err = fmt.Errorf("reading standard input needs --format jsonl or csv")
	default:
		format, err = importer.FormatOf(name)
	}
	if err != nil {
		return err
	}
	allowWeak, _ := f.GetStringArray("allow-weak")
	for _, s := range allowWeak {
		if !slices.Contains(secrets.Schemes, s) {
			return fmt.Errorf("--allow-weak %q is not a password hash scheme (%v)", s, secrets.Schemes)
		}
	}
	update, _ := f.GetBool("update")
	dryRun, _ := f.GetBool("dry-run")
	batch, _ := f.GetInt("batch")
	reportPath, _ := f.GetString("report")
	if reportPath == "" {
		reportPath = "import-errors-" + string(kind) + ".csv"
	}

	var in io.Reader = cmd.InOrStdin()
	var size int64
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("open import file: %w", err)
		}
		defer file.Close()
		if fi, err := file.Stat(); err == nil {
			size = fi.Size()
		}
		in = file
	}
	progress := &importer.Printer{W: cmd.ErrOrStderr(), Terminal: isTerminal(cmd.ErrOrStderr()), Total: size}
	report := &importer.Report{Path: reportPath}

	var sum importer.Summary
	err = adminRun(cmd, func(ctx context.Context, a *admin) error {
		var err error
		sum, err = importer.Run(ctx, importer.Config{Store: a.store, Keys: a.keys, Dialects: dialect.ClientDefaults(),
			Kind: kind, Format: format, Update: update, DryRun: dryRun, AllowWeak: allowWeak, BatchSize: batch,
			OnError: report.Add, OnProgress: progress.Update}, in)
		if !dryRun && sum.Created+sum.Updated > 0 {
			a.dir.Record(ctx, storage.AuditEvent{Type: oauth.AuditImported, Subject: "import:" + string(kind), Detail: map[string]string{
				"file": name, "read": strconv.Itoa(sum.Read), "created": strconv.Itoa(sum.Created),
				"updated": strconv.Itoa(sum.Updated), "skipped": strconv.Itoa(sum.Skipped), "failed": strconv.Itoa(sum.Failed)}})
		}
		return err
	})
	progress.Done()
	if rerr := report.Close(); rerr != nil && err == nil {
		err = rerr
	}
	prefix := ""
	if dryRun {
		prefix = "dry run, nothing written: "
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s%s %s\n", prefix, kind, sum)
	if err != nil {
		return fmt.Errorf("import %s stopped: %w", kind, err)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d rows failed; see %s (line, field, reason)", sum.Failed, sum.Read, reportPath)
	}
	return nil
}

// isTerminal reports whether w is a terminal, where progress redraws one
// line; anything else (a file, a pipe) gets plain periodic lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
