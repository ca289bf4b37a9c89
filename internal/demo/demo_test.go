package demo_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

func TestDemoClientsAreValid(t *testing.T) {
	for _, c := range demo.Clients {
		cl := c.Client
		if c.Secret != "" {
			cl.SecretHash = "x"
		}
		if err := oauth.ValidateClient(cl); err != nil {
			t.Errorf("demo client %s: %v", c.ID, err)
		}
	}
}

// TestLoadIsIdempotent: a second Load changes no row, not even a hash.
func TestLoadIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, _ := secrets.NewKeys([]byte(strings.Repeat("d", 32)))
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatal(err)
	}
	snapshot := func() (accounts []storage.Account, clients []storage.Client) {
		as, err := st.ListAccounts(ctx, storage.AccountFilter{})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := st.ListClients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return as, cs
	}
	a1, c1 := snapshot()
	if len(a1) != len(demo.Accounts) || len(c1) != len(demo.Clients) {
		t.Fatalf("loaded %d accounts and %d clients", len(a1), len(c1))
	}
	if err := demo.Load(ctx, st, keys); err != nil {
		t.Fatal(err)
	}
	a2, c2 := snapshot()
	for i := range a1 {
		if a1[i].PasswordHash != a2[i].PasswordHash || !a1[i].CreatedAt.Equal(a2[i].CreatedAt) {
			t.Fatalf("account %s changed on the second load", a1[i].Username)
		}
	}
	for i := range c1 {
		if c1[i].SecretHash != c2[i].SecretHash || !c1[i].CreatedAt.Equal(c2[i].CreatedAt) {
			t.Fatalf("client %s changed on the second load", c1[i].ID)
		}
	}
	john, err := st.GetAccountByUsername(ctx, storage.Guest, "777777", "johndoe")
	if err != nil || john.PrintedCardNumber != "6000986775" {
		t.Fatalf("johndoe: %+v %v", john, err)
	}
}
