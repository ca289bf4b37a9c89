package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	loadClientID     = "flexitidemo"
	loadClientSecret = "77xde15a-9d33-4c15-930a-3se4b3as33e9"
)

// TestBackupDuringLoad: latchkey backup during load produces a file that
// serve --db sqlite:BACKUP opens, with every token answered before the
// backup started present in it (active to the client that got it). The
// backup never overwrites a file, and refuses PostgreSQL.
func TestBackupDuringLoad(t *testing.T) {
	dir := t.TempDir()
	dbPath, secretFile, backup := filepath.Join(dir, "lk.db"), filepath.Join(dir, "secret"), filepath.Join(dir, "backup.db")
	base, _, _ := startServeAny(t, dir, "--demo", "--db", "sqlite:"+dbPath, "--secret-file", secretFile)

	var (
		mu       sync.Mutex
		answered []string // access tokens, in the order their answers arrived
		loadErr  error
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := clientCredentialsToken(base)
				mu.Lock()
				if err != nil && loadErr == nil {
					loadErr = err
				}
				if err == nil {
					answered = append(answered, tok)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		if loadErr != nil {
			t.Fatalf("load: %v", loadErr)
		}
		return len(answered)
	}

	// Some tokens first, so there is something to find in the backup.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for count() < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d tokens answered in 30s", count())
		}
		<-tick.C
	}
	mu.Lock()
	before := append([]string(nil), answered...)
	mu.Unlock()
	env := []string{"LATCHKEY_DB=sqlite:" + dbPath, "LATCHKEY_SECRET_FILE=" + secretFile}
	res := runCLI(t, dir, env, "backup", backup)
	during := count() - len(before)
	stopLoad()
	if res.code != 0 || !strings.Contains(res.stdout, "backed up sqlite:"+dbPath+" to "+backup) {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	t.Logf("%d tokens answered before the backup started, %d while it ran", len(before), during)
	if _, err := os.Stat(backup + ".tmp"); err == nil {
		t.Fatalf("the temporary file %s.tmp was left behind", backup)
	}

	// An existing file is never overwritten.
	info, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if res := runCLI(t, dir, env, "backup", backup); res.code == 0 || !strings.Contains(res.stderr, "already exists") {
		t.Fatalf("backup over an existing file: exit %d, stderr %q", res.code, res.stderr)
	}
	if again, err := os.Stat(backup); err != nil || !again.ModTime().Equal(info.ModTime()) || again.Size() != info.Size() {
		t.Fatalf("the existing backup was changed: %v %v", again, err)
	}
	// PostgreSQL is pg_dump's job.
	pg := []string{"LATCHKEY_DB=postgres://latchkey@127.0.0.1:1/latchkey", "LATCHKEY_SECRET_FILE=" + secretFile}
	if res := runCLI(t, dir, pg, "backup", filepath.Join(dir, "pg.db")); res.code == 0 || !strings.Contains(res.stderr, "pg_dump") {
		t.Fatalf("backup of a postgres:// database: exit %d, stderr %q", res.code, res.stderr)
	}

	// A server on the backup, with the same system secret, knows every token answered before it.
	restored, _, _ := startServeAny(t, dir, "--db", "sqlite:"+backup, "--secret-file", secretFile)
	for i, tok := range before {
		resp := postBasic(t, restored+"/oauth2/introspect", url.Values{"token": {tok}}, loadClientID, loadClientSecret)
		var in struct {
			Active   bool   `json:"active"`
			ClientID string `json:"client_id"`
		}
		decodeJSON(t, resp, &in)
		if resp.StatusCode != http.StatusOK || !in.Active || in.ClientID != loadClientID {
			t.Fatalf("token %d of %d, answered before the backup, is not active in it: %d %+v", i+1, len(before), resp.StatusCode, in)
		}
	}
}

// clientCredentialsToken gets an access token for the demo's flexitidemo client.
func clientCredentialsToken(base string) (string, error) {
	resp, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {loadClientID}, "client_secret": {loadClientSecret}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("token request answered %d: %v", resp.StatusCode, err)
	}
	return tok.AccessToken, nil
}
