package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

type accountView struct {
	ID                string   `json:"id"`
	Kind              string   `json:"kind"`
	Username          string   `json:"username"`
	MerchantID        string   `json:"merchant_id,omitempty"`
	PrintedCardNumber string   `json:"printed_card_number,omitempty"`
	Members           []string `json:"memberships,omitempty"`
	Disabled          bool     `json:"disabled"`
	CreatedAt         string   `json:"created_at,omitempty"`
}

func (accountView) columns() []string {
	return []string{"ID", "KIND", "USERNAME", "MERCHANT", "CARD", "MEMBERSHIPS", "DISABLED"}
}

func (v accountView) row() []string {
	return []string{v.ID, v.Kind, v.Username, dash(v.MerchantID), dash(v.PrintedCardNumber),
		dash(strings.Join(v.Members, ",")), fmt.Sprint(v.Disabled)}
}

// accountOf shows an account; the password hash is never shown.
func accountOf(a storage.Account) view {
	v := accountView{ID: a.ID, Kind: string(a.Kind), Username: a.Username, MerchantID: a.MerchantID,
		PrintedCardNumber: a.PrintedCardNumber, Disabled: a.Disabled, CreatedAt: stamp(a.CreatedAt)}
	for _, m := range a.Memberships {
		v.Members = append(v.Members, string(m.Type)+":"+m.ID)
	}
	return v
}

func newAccountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage guest and staff accounts"}
	create := jsonFlag(&cobra.Command{Use: "create", Short: "Create an account", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			kind, _ := f.GetString("kind")
			a := storage.Account{Kind: storage.AccountKind(kind)}
			a.ID, _ = f.GetString("id")
			a.Username, _ = f.GetString("username")
			a.MerchantID, _ = f.GetString("merchant")
			a.PrintedCardNumber, _ = f.GetString("card")
			members, _ := f.GetStringArray("member")
			for _, m := range members {
				a.Memberships = append(a.Memberships, oauth.ParseMembership(m))
			}
			if err := oauth.CheckAccount(a); err != nil { // before the password is read or the database opened
				return err
			}
			password, err := readPassword(cmd)
			if err != nil {
				return err
			}
			return adminRun(cmd, func(ctx context.Context, ad *admin) error {
				a, err := ad.dir.CreateAccount(ctx, a, password)
				if err != nil {
					return err
				}
				return ad.print(true, accountOf(a))
			})
		}})
	f := create.Flags()
	f.String("kind", "", "guest (a loyalty member of one merchant) or staff (required)")
	f.String("username", "", "the name the account logs in with (required)")
	f.String("merchant", "", "the guest's merchant (required for guests)")
	f.String("card", "", "printed card number (guests)")
	f.StringArray("member", nil, "staff membership, merchant:ID or organization:ID (repeatable)")
	f.String("id", "", "account id (default: generated)")
	passwordFlags(create)
	create.MarkFlagRequired("kind")
	create.MarkFlagRequired("username")

	list := listCmd("account", func(ctx context.Context, cmd *cobra.Command, a *admin) ([]view, error) {
		kind, _ := cmd.Flags().GetString("kind")
		merchant, _ := cmd.Flags().GetString("merchant")
		as, err := a.dir.ListAccounts(ctx, storage.AccountFilter{Kind: storage.AccountKind(kind), MerchantID: merchant})
		return views(as, accountOf), err
	})
	list.PreRunE = func(cmd *cobra.Command, _ []string) error {
		kind, _ := cmd.Flags().GetString("kind")
		return oauth.CheckAccountFilter(storage.AccountFilter{Kind: storage.AccountKind(kind)})
	}
	list.Flags().String("kind", "", "only guest or staff accounts")
	list.Flags().String("merchant", "", "only guests of this merchant")

	show := showCmd("account", func(ctx context.Context, a *admin, id string) (view, error) {
		acc, err := a.dir.Account(ctx, id)
		return accountOf(acc), err
	})
	del := deleteCmd("account", ", with its sessions, consents and tokens", func(ctx context.Context, a *admin, id string) error {
		return a.dir.DeleteAccount(ctx, id)
	})
	setPassword := &cobra.Command{Use: "set-password ID", Short: "Set an account's password; its tokens are revoked and its sessions ended",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPassword(cmd)
			if err != nil {
				return err
			}
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				if err := a.dir.SetPassword(ctx, args[0], password); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.out, "password of account %q changed; its tokens are revoked and its sessions ended\n", args[0])
				return err
			})
		}}
	passwordFlags(setPassword)
	disable := disableCmd("disable", "Disable an account: it can no longer sign in, its tokens are revoked and its sessions ended", true,
		"account %q disabled; its tokens are revoked and its sessions ended\n")
	enable := disableCmd("enable", "Enable a disabled account again (it signs in anew: nothing revoked comes back)", false,
		"account %q enabled\n")
	cmd.AddCommand(create, list, show, del, setPassword, disable, enable)
	return cmd
}

// disableCmd is "account disable ID" or "account enable ID".
func disableCmd(use, short string, disabled bool, done string) *cobra.Command {
	return &cobra.Command{Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				if err := a.dir.SetDisabled(ctx, args[0], disabled); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.out, done, args[0])
				return err
			})
		}}
}

func passwordFlags(cmd *cobra.Command) {
	cmd.Flags().String("password", "", fmt.Sprintf("the password, %d to %d bytes (visible in shell history and ps: prefer --password-stdin)", oauth.MinPassword, oauth.MaxPassword))
	cmd.Flags().Bool("password-stdin", false, "read the password from the first line of standard input")
	cmd.MarkFlagsMutuallyExclusive("password", "password-stdin")
}

// readPassword takes the password from --password or standard input, and
// refuses it early if the directory would.
func readPassword(cmd *cobra.Command) (string, error) {
	password, _ := cmd.Flags().GetString("password")
	if fromStdin, _ := cmd.Flags().GetBool("password-stdin"); fromStdin {
		line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), oauth.MaxPassword+2)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return "", fmt.Errorf("a password is needed: give --password-stdin (or --password)")
	}
	if err := oauth.CheckPassword(password); err != nil {
		return "", err
	}
	return password, nil
}
