package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// The CLI sets passwords of minPassword to maxPassword bytes, however
// given (--password or --password-stdin). Demo data loaded by code is not
// held to the minimum (the seeds' guest password has 7 characters).
const (
	minPassword = 8
	maxPassword = 1024
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
			givenID := a.ID != ""
			if !givenID {
				a.ID = secrets.RandomID("acc_")
			}
			return adminRun(cmd, func(ctx context.Context, ad *admin) error {
				// Name a missing merchant or organization, and a taken
				// username, before the slow password hash.
				if a.Kind == storage.Guest {
					if err := ad.mustExist(ctx, storage.OwnerMerchant, a.MerchantID); err != nil {
						return err
					}
				}
				for _, m := range a.Memberships {
					if err := ad.mustExist(ctx, m.Type, m.ID); err != nil {
						return err
					}
				}
				if err := usernameFree(ctx, ad.store, a); err != nil {
					return err
				}
				hash, err := secrets.HashPassword(password, secrets.DefaultArgon2)
				if err != nil {
					return fmt.Errorf("hash password: %w", err)
				}
				a.PasswordHash, a.CreatedAt = hash, time.Now().UTC()
				err = ad.store.CreateAccount(ctx, a)
				if errors.Is(err, storage.ErrAlreadyExists) {
					if givenID {
						if _, gerr := ad.store.GetAccount(ctx, a.ID); gerr == nil {
							return fmt.Errorf("account %q already exists", a.ID)
						}
					}
					return usernameTaken(a)
				}
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
		as, err := a.store.ListAccounts(ctx, storage.AccountFilter{Kind: storage.AccountKind(kind), MerchantID: merchant})
		return views(as, accountOf), err
	})
	list.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if kind, _ := cmd.Flags().GetString("kind"); kind != "" && !storage.AccountKind(kind).Valid() {
			return fmt.Errorf("--kind %q must be guest or staff", kind)
		}
		return nil
	}
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
			return adminRun(cmd, func(ctx context.Context, a *admin) error {
				if _, err := a.store.GetAccount(ctx, args[0]); err != nil {
					return explain(err, "account", args[0]) // before the slow hash
				}
				hash, err := secrets.HashPassword(password, secrets.DefaultArgon2)
				if err != nil {
					return fmt.Errorf("hash password: %w", err)
				}
				err = a.store.UpdateAccount(ctx, args[0], func(acc storage.Account) (storage.Account, error) {
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
	if a.Username == "" || len(a.Username) > 256 || strings.TrimSpace(a.Username) != a.Username ||
		strings.ContainsFunc(a.Username, unicode.IsControl) {
		return fmt.Errorf("--username %q must be 1 to 256 characters, without control characters or surrounding spaces", a.Username)
	}
	if a.ID != "" {
		if err := checkID("--id", a.ID); err != nil {
			return err
		}
	}
	if a.MerchantID != "" {
		if err := checkID("--merchant", a.MerchantID); err != nil {
			return err
		}
	}
	if len(a.PrintedCardNumber) > 64 || strings.ContainsFunc(a.PrintedCardNumber, unicode.IsSpace) {
		return fmt.Errorf("--card %q must be at most 64 characters without spaces", a.PrintedCardNumber)
	}
	seen := map[string]bool{}
	for _, m := range members {
		t, id, ok := strings.Cut(m, ":")
		if !ok || id == "" || (t != string(storage.OwnerMerchant) && t != string(storage.OwnerOrganization)) {
			return fmt.Errorf("--member %q must be merchant:ID or organization:ID", m)
		}
		if err := checkID("--member "+t, id); err != nil {
			return err
		}
		if seen[m] {
			return fmt.Errorf("--member %q is given twice", m)
		}
		seen[m] = true
	}
	return nil
}

// usernameFree fails when a's username is taken: by a guest of the same
// merchant, or by another staff account (usernames compare case-insensitively).
func usernameFree(ctx context.Context, st storage.Storage, a storage.Account) error {
	_, err := st.GetAccountByUsername(ctx, a.Kind, a.MerchantID, a.Username)
	switch {
	case err == nil:
		return usernameTaken(a)
	case errors.Is(err, storage.ErrNotFound):
		return nil
	}
	return fmt.Errorf("look up username %q: %w", a.Username, err)
}

func usernameTaken(a storage.Account) error {
	if a.Kind == storage.Guest {
		return fmt.Errorf("account %q already exists for merchant %q", a.Username, a.MerchantID)
	}
	return fmt.Errorf("staff account %q already exists", a.Username)
}

func passwordFlags(cmd *cobra.Command) {
	cmd.Flags().String("password", "", fmt.Sprintf("the password, %d to %d bytes (visible in shell history and ps: prefer --password-stdin)", minPassword, maxPassword))
	cmd.Flags().Bool("password-stdin", false, "read the password from the first line of standard input")
	cmd.MarkFlagsMutuallyExclusive("password", "password-stdin")
}

// readPassword takes the password from --password or standard input.
func readPassword(cmd *cobra.Command) (string, error) {
	password, _ := cmd.Flags().GetString("password")
	if fromStdin, _ := cmd.Flags().GetBool("password-stdin"); fromStdin {
		line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), maxPassword+2)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return "", fmt.Errorf("a password is needed: give --password-stdin (or --password)")
	}
	if len(password) < minPassword || len(password) > maxPassword {
		return "", fmt.Errorf("the password must be %d to %d bytes long", minPassword, maxPassword)
	}
	return password, nil
}
