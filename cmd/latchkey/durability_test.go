package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage/backend"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// testKill9 checks that tokens answered 200 survive a kill -9 of the server
// right after the responses: every answered token is committed first.
func testKill9(t *testing.T, dbFlag string, db config.DB) {
	dir := t.TempDir()
	base, stop := startServe(t, dir, "--demo", "--db", dbFlag, "--secret-file", filepath.Join(dir, "secret"))
	var issued []string
	for range 20 {
		resp, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {"flexitidemo"}, "client_secret": {"77xde15a-9d33-4c15-930a-3se4b3as33e9"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %v %v", err, resp)
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		issued = append(issued, tok.AccessToken)
	}
	stop(syscall.SIGKILL) // no graceful shutdown, no chance to flush anything

	st, err := backend.Open(context.Background(), db.Driver, db.Source(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, tok := range issued {
		if _, err := st.GetAccessToken(context.Background(), secrets.TokenID(tok)); err != nil {
			t.Fatalf("token %d of %d, answered 200, is gone after kill -9: %v", i+1, len(issued), err)
		}
	}
	t.Logf("%s: killed with SIGKILL right after %d tokens answered 200; %d found after the kill, 0 lost", db.Driver, len(issued), len(issued))
}

func TestTokensSurviveKill9SQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lk.db")
	testKill9(t, "sqlite:"+path, config.DB{Driver: "sqlite", Path: path})
}

func TestTokensSurviveKill9Postgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	testKill9(t, dsn, config.DB{Driver: "postgres", URL: dsn})
}
