package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
)

func newBackupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy the SQLite database to a new FILE, consistently, while the server runs",
		Long: `Copies the SQLite database (--db sqlite:PATH) to FILE, a new file: one
consistent snapshot, taken while servers keep reading and writing it. FILE is
never overwritten. The copy is useless without the system secret: keep that too.
For PostgreSQL use pg_dump (docs/OPERATIONS.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			db, _ := config.ParseDB(cfg.DB) // validated by config
			if db.Driver != "sqlite" {
				return fmt.Errorf("backup copies SQLite databases only; back up PostgreSQL with pg_dump (docs/OPERATIONS.md)")
			}
			if err := sqlite.Backup(cmd.Context(), db.Path, args[0]); err != nil {
				return err
			}
			size := ""
			if fi, err := os.Stat(args[0]); err == nil {
				size = fmt.Sprintf(" (%d bytes)", fi.Size())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backed up sqlite:%s to %s%s; restoring it needs the same system secret\n", db.Path, args[0], size)
			return nil
		},
	}
}
