package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

type keyView struct {
	ID        string `json:"kid"`
	Algorithm string `json:"alg"`
	SignFrom  string `json:"signs_from"`
	RetiredAt string `json:"retired_at,omitempty"`
	ExpiresAt string `json:"unpublished_at,omitempty"`
}

func (keyView) columns() []string {
	return []string{"KID", "ALG", "SIGNS FROM", "RETIRED AT", "UNPUBLISHED AT"}
}
func (v keyView) row() []string {
	return []string{v.ID, v.Algorithm, v.SignFrom, dash(v.RetiredAt), dash(v.ExpiresAt)}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func keyOf(k storage.SigningKey) view {
	return keyView{ID: k.ID, Algorithm: string(signing.KeyAlgorithm(k)), SignFrom: stamp(k.SignFrom), RetiredAt: stamp(k.RetiredAt), ExpiresAt: stamp(k.ExpiresAt)}
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the keys that sign JWT access tokens and ID tokens"}
	list := listCmd("key", func(ctx context.Context, _ *cobra.Command, a *admin) ([]view, error) {
		ks, err := a.store.ListSigningKeys(ctx)
		return views(signing.Sorted(ks), keyOf), err
	})
	rotate := jsonFlag(&cobra.Command{Use: "rotate", Short: "Publish a new signing key of each algorithm now; it signs after --publish-ahead, and the old keys stay published until their tokens expire",
		Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			ahead, _ := cmd.Flags().GetDuration("publish-ahead")
			names, _ := cmd.Flags().GetStringSlice("alg")
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				ks, err := a.dir.RotateKeys(ctx, ahead, names...)
				if err != nil {
					return err
				}
				return a.print(false, views(ks, keyOf)...)
			})
		}})
	rotate.Flags().Duration("publish-ahead", 10*time.Minute, "how long the new key is published before it signs (let resource servers' JWKS caches catch up)")
	rotate.Flags().StringSlice("alg", nil, "rotate only these algorithms ("+oauth.SigningAlgNames()+"; default all)")
	cmd.AddCommand(list, rotate)
	return cmd
}
