package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// minPassword is the shortest password the CLI sets.
const minPassword = 8

type accountView struct {
	ID                string   `json:"id"`
	Kind              string   `json:"kind"`
	Username          string   `json:"username"`
	MerchantID        string   `json:"merchant_id,omitempty"`
	PrintedCardNumber string   `json:"printed_card_number,omitempty"`
	Members           []string `json:"memberships,omitempty"`
	Disabled          bool     `json:"disabled"`
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
		PrintedCardNumber: a.PrintedCardNumber, Disabled: a.Disabled}
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
			if err := checkAccount(a, members); err != nil {
				return err
			}
			for _, m := range members {
				t, id, _ := strings.Cut(m, ":")
				a.Memberships = append(a.Memberships, storage.Membership{Type: storage.OwnerType(t), ID: id})
			}
			password, err := readPassword(cmd)
			if err != nil {
				return err
			}
			if a.ID == "" {
				a.ID = secrets.RandomID("acc_")
			}
			if a.PasswordHash, err = secrets.HashPassword(password, secrets.DefaultArgon2); err != nil {
				return err
			}
			a.CreatedAt = time.Now()
			return adminRun(cmd, func(ctx context.Context, ad *admin) error {
				if err := explain(ad.store.CreateAccount(ctx, a), "account", a.Username); err != nil {
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
		as, err := a.store.ListAccounts(ctx, storage.AccountFilter{Kind: storage.AccountKind(kind), MerchantID: merchant})
		return views(as, accountOf), err
	})
	list.Flags().String("kind", "", "only guest or staff accounts")
	list.Flags().String("merchant", "", "only guests of this merchant")

	show := showCmd("account", func(ctx context.Context, a *admin, id string) (view, error) {
		acc, err := a.store.GetAccount(ctx, id)
		return accountOf(acc), err
	})
	del := deleteCmd("account", ", with its sessions, consents and tokens", func(ctx context.Context, a *admin, id string) error {
		return a.store.DeleteAccount(ctx, id)
	})
	setPassword := &cobra.Command{Use: "set-password ID", Short: "Set an account's password", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPassword(cmd)
			if err != nil {
				return err
			}
			hash, err := secrets.HashPassword(password, secrets.DefaultArgon2)
			if err != nil {
				return err
			}
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				err := a.store.UpdateAccount(ctx, args[0], func(acc storage.Account) (storage.Account, error) {
					acc.PasswordHash = hash
					return acc, nil
				})
				if err := explain(err, "account", args[0]); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.out, "password of account %q changed\n", args[0])
				return err
			})
		}}
	passwordFlags(setPassword)
	cmd.AddCommand(create, list, show, del, setPassword)
	return cmd
}

// checkAccount validates the account flags before anything is hashed or opened.
func checkAccount(a storage.Account, members []string) error {
	switch a.Kind {
	case storage.Guest:
		if a.MerchantID == "" {
			return fmt.Errorf("a guest account needs --merchant")
		}
		if len(members) > 0 {
			return fmt.Errorf("--member is for staff accounts; a guest belongs to its --merchant")
		}
	case storage.Staff:
		if a.MerchantID != "" {
			return fmt.Errorf("--merchant is for guest accounts; give staff --member merchant:ID")
		}
		if a.PrintedCardNumber != "" {
			return fmt.Errorf("--card is for guest accounts")
		}
	default:
		return fmt.Errorf("--kind %q must be guest or staff", a.Kind)
	}
	if strings.TrimSpace(a.Username) == "" || len(a.Username) > 256 {
		return fmt.Errorf("--username must be 1 to 256 characters")
	}
	for _, m := range members {
		t, id, ok := strings.Cut(m, ":")
		if !ok || id == "" || (t != string(storage.OwnerMerchant) && t != string(storage.OwnerOrganization)) {
			return fmt.Errorf("--member %q must be merchant:ID or organization:ID", m)
		}
	}
	return nil
}

func passwordFlags(cmd *cobra.Command) {
	cmd.Flags().String("password", "", "the password (visible in shell history: prefer --password-stdin)")
	cmd.Flags().Bool("password-stdin", false, "read the password from the first line of standard input")
	cmd.MarkFlagsMutuallyExclusive("password", "password-stdin")
}

// readPassword takes the password from --password or standard input.
func readPassword(cmd *cobra.Command) (string, error) {
	password, _ := cmd.Flags().GetString("password")
	if fromStdin, _ := cmd.Flags().GetBool("password-stdin"); fromStdin {
		line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return "", fmt.Errorf("a password is needed: give --password-stdin (or --password)")
	}
	if len(password) < minPassword {
		return "", fmt.Errorf("the password must be at least %d characters", minPassword)
	}
	return password, nil
}
