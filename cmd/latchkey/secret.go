package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/secrets"
)

func newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Make a system secret"}
	generate := &cobra.Command{
		Use:   "generate",
		Short: "Print a new random system secret, for LATCHKEY_SECRET or a --secret-file",
		Long: "Print a new random system secret (48 random bytes, base64url) for LATCHKEY_SECRET or a --secret-file.\n" +
			"It touches no file and no database: give every node the same secret and back it up.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The same generator as the secret file serve creates, so either
			// is what the loader accepts.
			_, err := fmt.Fprintln(cmd.OutOrStdout(), secrets.NewSystemSecret())
			return err
		},
	}
	cmd.AddCommand(generate)
	return cmd
}
