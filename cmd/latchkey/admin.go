package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// newAdminCmds returns the commands that manage merchants, organizations,
// accounts and clients in the database.
func newAdminCmds() []*cobra.Command {
	return []*cobra.Command{newMerchantCmd(), newOrganizationCmd(), newAccountCmd(), newClientCmd(), newKeysCmd()}
}

// adminRun opens the store for an admin command and runs fn with it and
// the directory over it.
func adminRun(cmd *cobra.Command, fn func(ctx context.Context, a *admin) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	log := newLogger(cfg, os.Stderr)
	st, keys, err := openStore(cmd.Context(), cfg, log, false)
	if err != nil {
		return err
	}
	dir, err := oauth.NewDirectory(oauth.DirectoryConfig{Store: st, Keys: keys, Dialects: dialect.ClientDefaults()})
	if err != nil {
		st.Close() // err says what went wrong
		return err
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	// Every change made here is audited as the command line's.
	ferr := fn(oauth.WithActor(cmd.Context(), "cli"), &admin{store: st, keys: keys, dir: dir, out: cmd.OutOrStdout(), json: asJSON})
	if cerr := st.Close(); cerr != nil && ferr == nil {
		return fmt.Errorf("close database: %w", cerr)
	}
	return ferr
}

// admin is what an admin command works with. Merchants, organizations,
// accounts and clients go through dir, which holds their rules.
type admin struct {
	store storage.Storage
	keys  *secrets.Keys
	dir   *oauth.Directory
	out   io.Writer
	json  bool
}

// view is one record as the CLI shows it: JSON for scripts, and the
// columns of a table for people.
type view interface {
	columns() []string
	row() []string
}

// print shows records as an aligned table, or as JSON with --json (one
// object for show/create, an array for list).
func (a *admin) print(single bool, vs ...view) error {
	if a.json {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		if single && len(vs) == 1 {
			return enc.Encode(vs[0])
		}
		if vs == nil {
			vs = []view{}
		}
		return enc.Encode(vs)
	}
	if len(vs) == 0 {
		_, err := fmt.Fprintln(a.out, "(none)")
		return err
	}
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(vs[0].columns(), "\t"))
	for _, v := range vs {
		fmt.Fprintln(tw, strings.Join(v.row(), "\t"))
	}
	return tw.Flush()
}

// jsonFlag adds --json to a command that prints records.
func jsonFlag(cmd *cobra.Command) *cobra.Command {
	cmd.Flags().Bool("json", false, "print JSON instead of a table")
	return cmd
}

// listCmd is "KIND list".
func listCmd(kind string, list func(ctx context.Context, cmd *cobra.Command, a *admin) ([]view, error)) *cobra.Command {
	return jsonFlag(&cobra.Command{Use: "list", Short: "List " + kind + "s", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				vs, err := list(ctx, cmd, a)
				if err != nil {
					return fmt.Errorf("list %ss: %w", kind, err)
				}
				return a.print(false, vs...)
			})
		}})
}

// withArticle puts "a" or "an" before kind, as it is said: "an account".
func withArticle(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// showCmd is "KIND show ID"; get's error is shown as it is.
func showCmd(kind string, get func(ctx context.Context, a *admin, id string) (view, error)) *cobra.Command {
	return jsonFlag(&cobra.Command{Use: "show ID", Short: "Show " + withArticle(kind), Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				v, err := get(ctx, a, args[0])
				if err != nil {
					return err
				}
				return a.print(true, v)
			})
		}})
}

// deleteCmd is "KIND delete ID"; del's error is shown as it is.
func deleteCmd(kind, note string, del func(ctx context.Context, a *admin, id string) error) *cobra.Command {
	return &cobra.Command{Use: "delete ID", Short: "Delete " + withArticle(kind) + note, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				if err := del(ctx, a, args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.out, "deleted %s %q\n", kind, args[0])
				return err
			})
		}}
}

// views converts records to views.
func views[T any](items []T, fn func(T) view) []view {
	out := make([]view, 0, len(items))
	for _, it := range items {
		out = append(out, fn(it))
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type merchantView struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	OrganizationID string `json:"organization_id,omitempty"`
	CreatedAt      string `json:"created_at,omitempty"`
}

func (merchantView) columns() []string { return []string{"ID", "NAME", "ORGANIZATION"} }
func (v merchantView) row() []string   { return []string{v.ID, v.Name, dash(v.OrganizationID)} }

func merchantOf(m storage.Merchant) view {
	return merchantView{ID: m.ID, Name: m.Name, OrganizationID: m.OrganizationID, CreatedAt: stamp(m.CreatedAt)}
}

func newMerchantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "merchant", Short: "Manage merchants"}
	create := jsonFlag(&cobra.Command{Use: "create", Short: "Create a merchant", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var m storage.Merchant
			m.ID, _ = cmd.Flags().GetString("id")
			m.Name, _ = cmd.Flags().GetString("name")
			m.OrganizationID, _ = cmd.Flags().GetString("organization")
			if err := oauth.CheckMerchant(m); err != nil { // before the database is opened
				return err
			}
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				m, err := a.dir.CreateMerchant(ctx, m)
				if err != nil {
					return err
				}
				return a.print(true, merchantOf(m))
			})
		}})
	create.Flags().String("id", "", "merchant id, e.g. 777777 (required)")
	create.Flags().String("name", "", "display name (required)")
	create.Flags().String("organization", "", "id of the organization it belongs to")
	create.MarkFlagRequired("id")
	create.MarkFlagRequired("name")
	list := listCmd("merchant", func(ctx context.Context, _ *cobra.Command, a *admin) ([]view, error) {
		ms, err := a.dir.ListMerchants(ctx)
		return views(ms, merchantOf), err
	})
	show := showCmd("merchant", func(ctx context.Context, a *admin, id string) (view, error) {
		m, err := a.dir.Merchant(ctx, id)
		return merchantOf(m), err
	})
	del := deleteCmd("merchant", " that no account, client or membership refers to", func(ctx context.Context, a *admin, id string) error {
		return a.dir.DeleteMerchant(ctx, id)
	})
	cmd.AddCommand(create, list, show, del)
	return cmd
}

type organizationView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at,omitempty"`
}

func (organizationView) columns() []string { return []string{"ID", "NAME"} }
func (v organizationView) row() []string   { return []string{v.ID, v.Name} }

func organizationOf(o storage.Organization) view {
	return organizationView{ID: o.ID, Name: o.Name, CreatedAt: stamp(o.CreatedAt)}
}

func newOrganizationCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "organization", Aliases: []string{"org"}, Short: "Manage organizations (groups of merchants)"}
	create := jsonFlag(&cobra.Command{Use: "create", Short: "Create an organization", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var o storage.Organization
			o.ID, _ = cmd.Flags().GetString("id")
			o.Name, _ = cmd.Flags().GetString("name")
			if err := oauth.CheckOrganization(o); err != nil { // before the database is opened
				return err
			}
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				o, err := a.dir.CreateOrganization(ctx, o)
				if err != nil {
					return err
				}
				return a.print(true, organizationOf(o))
			})
		}})
	create.Flags().String("id", "", "organization id (required)")
	create.Flags().String("name", "", "display name (required)")
	create.MarkFlagRequired("id")
	create.MarkFlagRequired("name")
	list := listCmd("organization", func(ctx context.Context, _ *cobra.Command, a *admin) ([]view, error) {
		orgs, err := a.dir.ListOrganizations(ctx)
		return views(orgs, organizationOf), err
	})
	show := showCmd("organization", func(ctx context.Context, a *admin, id string) (view, error) {
		o, err := a.dir.Organization(ctx, id)
		return organizationOf(o), err
	})
	del := deleteCmd("organization", " that no merchant or membership refers to", func(ctx context.Context, a *admin, id string) error {
		return a.dir.DeleteOrganization(ctx, id)
	})
	cmd.AddCommand(create, list, show, del)
	return cmd
}
