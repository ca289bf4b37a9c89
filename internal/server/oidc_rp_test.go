package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// rpDir holds the relying party run by TestOIDCRelyingPartyOAuth4WebAPI
// and the lock file that pins its one dependency.
const rpDir = "testdata/oauth4webapi"

// rpResult is the last line rp.mjs prints.
type rpResult struct {
	IDTokenAlg             string         `json:"id_token_alg"`
	IDTokenClaims          map[string]any `json:"id_token_claims"`
	IDTokenAtHashChecked   bool           `json:"id_token_at_hash_checked"`
	Userinfo               map[string]any `json:"userinfo"`
	RefreshedIDTokenAlg    string         `json:"refreshed_id_token_alg"`
	RefreshedIDTokenClaims map[string]any `json:"refreshed_id_token_claims"`
	RefreshedAtHashChecked bool           `json:"refreshed_id_token_at_hash_checked"`
}

// rpScript returns the path of rp.mjs with oauth4webapi installed next to
// it: in testdata when `npm ci` was run there, or else in a temporary copy
// where the test runs `npm ci` itself (which needs only the npm registry).
func rpScript(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("the oauth4webapi relying party needs Node.js 20 or later: node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(rpDir, "node_modules", "oauth4webapi", "package.json")); err == nil {
		abs, err := filepath.Abs(filepath.Join(rpDir, "rp.mjs"))
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("the oauth4webapi relying party needs npm to install its dependency: npm is not on PATH")
	}
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "rp.mjs"} {
		b, err := os.ReadFile(filepath.Join(rpDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in a copy of %s (it needs the npm registry): %v\n%s", rpDir, err, out)
	}
	return filepath.Join(dir, "rp.mjs")
}

// TestOIDCRelyingPartyOAuth4WebAPI runs panva's oauth4webapi, a strict
// OpenID Connect client, against a live latchkey: discovery, the code flow
// with PKCE, state and nonce, the authorization response's iss, the ID
// token's claims and signature (checked against the JWKS), userinfo and a
// refresh. It must succeed without writing anything on stderr.
func TestOIDCRelyingPartyOAuth4WebAPI(t *testing.T) {
	script := rpScript(t)
	site := demoserver.Start(t, demoserver.Options{})
	ctx := t.Context()
	acct, err := site.Store.GetAccountByUsername(ctx, storage.Staff, "", "acmejewellers")
	if err != nil {
		t.Fatal(err)
	}
	const redirectURI = "https://rp.example/callback"
	scopes := []string{"openid", "profile", "email"}
	for _, tc := range []struct {
		name   string
		client storage.Client
		secret string // empty for the public client
	}{
		{name: "confidential RS256", secret: "oauth4webapi-rp-secret", client: storage.Client{
			ID: "oauth4webapi-confidential", Name: "oauth4webapi confidential RP", IDTokenAlg: "RS256",
			AccessTokenFormat: "jwt", SkipConsent: false}},
		{name: "public ES256", client: storage.Client{
			ID: "oauth4webapi-public", Name: "oauth4webapi public RP", IDTokenAlg: "ES256",
			AccessTokenFormat: "opaque", SkipConsent: true, RequirePKCE: true, RotateRefresh: true, RefreshGrace: time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client
			if tc.secret != "" {
				c.SecretHash = site.Keys.HashClientSecret(tc.secret)
			}
			c.GrantTypes = []string{"authorization_code", "refresh_token"}
			c.Scopes, c.DefaultScopes = scopes, scopes
			c.RedirectURIs = []string{redirectURI}
			c.AccessTokenTTL, c.RefreshTokenTTL = time.Hour, 24*time.Hour
			c.MerchantID, c.AccountKind = "123456", storage.Staff
			if err := site.Store.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}

			args := []string{script, "--issuer", site.URL, "--client-id", c.ID, "--redirect-uri", redirectURI, "--alg", c.IDTokenAlg}
			if tc.secret != "" {
				args = append(args, "--client-secret", tc.secret)
			}
			var consented bool
			res, stderr, err := runRP(t, args, func(authURL string) string {
				var callback string
				callback, consented = signInAt(t, site, authURL)
				return callback
			})
			if err != nil || stderr != "" {
				t.Fatalf("oauth4webapi: %v\nstderr:\n%s", err, stderr)
			}
			if consented == c.SkipConsent {
				t.Errorf("consent page shown: %v, with SkipConsent %v", consented, c.SkipConsent)
			}
			t.Logf("ID token (%s): %v", res.IDTokenAlg, res.IDTokenClaims)
			t.Logf("userinfo: %v", res.Userinfo)
			t.Logf("refreshed ID token (%s): %v", res.RefreshedIDTokenAlg, res.RefreshedIDTokenClaims)

			id := res.IDTokenClaims
			if id["sub"] != acct.ID || id["preferred_username"] != "acmejewellers" || id["aud"] != c.ID ||
				id["iss"] != site.URL || id["nonce"] == nil || id["auth_time"] == nil {
				t.Errorf("ID token claims %v; want sub %q, preferred_username acmejewellers, aud %q, iss %q, nonce, auth_time",
					id, acct.ID, c.ID, site.URL)
			}
			if !res.IDTokenAtHashChecked {
				t.Errorf("the ID token has no at_hash: %v", id)
			}
			if res.Userinfo["sub"] != id["sub"] || res.Userinfo["preferred_username"] != "acmejewellers" {
				t.Errorf("userinfo %v; want the ID token's sub %v and preferred_username acmejewellers", res.Userinfo, id["sub"])
			}
			if r := res.RefreshedIDTokenClaims; r["sub"] != id["sub"] || r["aud"] != c.ID || r["iss"] != site.URL {
				t.Errorf("refreshed ID token claims %v; want sub %v, aud %q, iss %q", r, id["sub"], c.ID, site.URL)
			}
			if !res.RefreshedAtHashChecked {
				t.Errorf("the refreshed ID token has no at_hash: %v", res.RefreshedIDTokenClaims)
			}
			if res.IDTokenAlg != c.IDTokenAlg || res.RefreshedIDTokenAlg != c.IDTokenAlg {
				t.Errorf("ID tokens signed with %s and %s (after refresh), want %s", res.IDTokenAlg, res.RefreshedIDTokenAlg, c.IDTokenAlg)
			}
		})
	}
}

// runRP runs rp.mjs with args: browse signs in at the authorization URL the
// script prints and returns where latchkey redirects the browser, which is
// handed back to the script. runRP returns the script's result, its stderr,
// and what went wrong (its exit status among others).
func runRP(t *testing.T, args []string, browse func(authURL string) string) (rpResult, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = filepath.Dir(args[0])
	cmd.WaitDelay = 5 * time.Second
	// Nothing from the environment may add options (or silence warnings).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NODE_OPTIONS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 1<<20)
	var res rpResult
	failed := func(step string) (rpResult, string, error) {
		stdin.Close()
		io.Copy(io.Discard, stdout)
		werr := cmd.Wait()
		return res, stderr.String(), errors.Join(errors.New(step), werr)
	}

	if !lines.Scan() {
		return failed("the script printed no authorization URL")
	}
	var first struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	if err := json.Unmarshal(lines.Bytes(), &first); err != nil || first.AuthorizationURL == "" {
		return failed("first line is not {\"authorization_url\": ...}: " + lines.Text())
	}
	callback := browse(first.AuthorizationURL)
	if _, err := io.WriteString(stdin, callback+"\n"); err != nil {
		return failed("write the callback URL: " + err.Error())
	}
	stdin.Close()

	if !lines.Scan() {
		return failed("the script printed no result")
	}
	if err := json.Unmarshal(lines.Bytes(), &res); err != nil {
		return failed("the result is not JSON: " + lines.Text())
	}
	for lines.Scan() {
		t.Errorf("the script printed more than expected: %s", lines.Text())
	}
	werr := cmd.Wait() // before reading stderr: Wait ends the goroutine copying into it
	return res, stderr.String(), werr
}

// signInAt opens an authorization URL in a fresh browser, signs in as the
// demo staff account acmejewellers, picks merchant 123456 if asked, allows
// the consent if asked, and returns where latchkey redirects the browser
// and whether a consent page was shown.
func signInAt(t *testing.T, site *demoserver.Site, authURL string) (callback string, consented bool) {
	t.Helper()
	a := webtest.NewAgent(t)
	status, h, body := a.Get(authURL)
	if status != http.StatusOK || !strings.Contains(body, `<form id="login"`) {
		t.Fatalf("authorization URL %s: %d %q, want the login page", authURL, status, h.Get("Location"))
	}
	status, h, body = a.Submit(site.URL, body, url.Values{"action": {"login"}, "username": {"acmejewellers"},
		"password": {"dice-vanila-purse"}})
	for range 3 {
		switch {
		case status == http.StatusSeeOther:
			loc := h.Get("Location")
			if u, err := url.Parse(loc); err != nil || u.Query().Get("code") == "" {
				t.Fatalf("latchkey redirected to %q, want the redirect URI with a code", loc)
			}
			return loc, consented
		case status == http.StatusOK && strings.Contains(body, `<form id="select-account"`):
			status, h, body = a.Submit(site.URL, body, url.Values{"resource_owner": {"123456"}})
		case status == http.StatusOK && strings.Contains(body, `<form id="consent"`):
			consented = true
			status, h, body = a.Submit(site.URL, body, url.Values{"decision": {"allow"}})
		default:
			t.Fatalf("after signing in: %d %q\n%s", status, h.Get("Location"), body)
		}
	}
	t.Fatalf("no redirect after signing in: %d\n%s", status, body)
	return "", false
}
