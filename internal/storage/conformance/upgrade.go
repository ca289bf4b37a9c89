package conformance

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

func testUpgrade(t *testing.T, reopen Reopener, from int) {
	c := ctx(t)
	open, raw := reopen(t)
	old := open(from)
	f := setupOld(t, old, raw)
	// Ids as older releases wrote them: a plain hash, no issue-time prefix.
	a := f.tokens("fam-old", "8Jq2kY0VsmR3b0pXy9Lx7c1tQe5nWz4aHfGdUo6iKjM", now)
	gone := f.tokens("fam-gone", "Zr7", now.Add(-48*time.Hour))
	lone := storage.AccessToken{ID: "at-lone", ClientID: f.client.ID,
		Owner: storage.ResourceOwner{Type: storage.OwnerClient, ID: f.client.ID}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, old.Close(), "close the old store")
	for _, ts := range []storage.TokenSet{a, gone, {Access: &lone}} {
		insertVersion1Tokens(t, raw, ts)
	}

	s := open(0)
	defer s.Close()
	gotA, err := s.GetAccessToken(c, a.Access.ID)
	must(t, err, "get access token after the upgrade")
	equal(t, gotA, *a.Access, "access token after the upgrade")
	gotR, err := s.GetRefreshToken(c, a.Refresh.ID)
	must(t, err, "get refresh token after the upgrade")
	equal(t, gotR, *a.Refresh, "refresh token after the upgrade")
	gotL, err := s.GetAccessToken(c, lone.ID)
	must(t, err, "get token of no family after the upgrade")
	equal(t, gotL, lone, "token of no family after the upgrade")

	rot := f.rotation(a.Refresh.ID, "new", now.Add(time.Minute), 0)
	rot.Access.FamilyID, rot.Refresh.FamilyID = "fam-old", "fam-old"
	res, err := s.RotateRefreshToken(c, rot)
	must(t, err, "rotate an old refresh token after the upgrade")
	equal(t, res.Outcome, storage.OutcomeRotated, "rotation outcome")
	must(t, s.RevokeFamily(c, "fam-old", now.Add(2*time.Minute), time.Time{}), "revoke the old family")
	equal(t, countLive(t, s, a.Access.ID, a.Refresh.ID, rot.Access.ID, rot.Refresh.ID), 0, "live tokens of the revoked family")
	equal(t, countLive(t, s, lone.ID), 1, "token of no family after family revocation")

	n, err := s.DeleteExpired(c, now.Add(-time.Hour))
	must(t, err, "delete expired after the upgrade")
	equal(t, n, int64(2), "expired rows swept after the upgrade")
	_, err = s.GetRefreshToken(c, gone.Refresh.ID)
	wantErr(t, err, storage.ErrNotFound, "swept refresh token")
}

// testClientUpgrade checks the upgrade to schema version 8 (OpenID Connect
// client settings): a client written by an older release reads back the
// same, with an empty ID token algorithm and no post-logout redirect URIs,
// and takes both settings afterwards.
func testClientUpgrade(t *testing.T, reopen Reopener, from int) {
	c := ctx(t)
	open, raw := reopen(t)
	old := open(from)
	f := setupOld(t, old, raw)
	web := f.client
	web.ID, web.GrantTypes, web.RedirectURIs = "web", []string{"authorization_code"}, []string{"https://app.example/cb"}
	insertVersion7Client(t, raw, web)
	must(t, old.Close(), "close the old store")

	s := open(0)
	defer s.Close()
	for _, want := range []storage.Client{f.client, web} {
		got, err := s.GetClient(c, want.ID)
		must(t, err, "get client after the upgrade")
		equal(t, got, want, "client after the upgrade")
	}
	var alg, uris string
	must(t, raw.QueryRowContext(c, `SELECT id_token_alg, post_logout_redirect_uris FROM clients WHERE id = $1`, web.ID).Scan(&alg, &uris),
		"read the new columns of an old client")
	equal(t, []string{alg, uris}, []string{"", "[]"}, "new columns of an old client")

	must(t, s.UpdateClient(c, web.ID, func(cl storage.Client) (storage.Client, error) {
		cl.IDTokenAlg, cl.PostLogoutRedirectURIs = "ES256", []string{"https://app.example/", "https://app.example/bye"}
		return cl, nil
	}), "set the OpenID Connect settings of an old client")
	web.IDTokenAlg, web.PostLogoutRedirectURIs = "ES256", []string{"https://app.example/", "https://app.example/bye"}
	list, err := s.ListClients(c)
	must(t, err, "list clients after the upgrade")
	equal(t, list, []storage.Client{f.client, web}, "clients after the upgrade and an update")
}

// setupOld is setup on a store at an older schema version, whose client
// columns the store no longer writes: the client is written as releases
// of schema versions 1 to 7 wrote it.
func setupOld(t *testing.T, s storage.Storage, raw *sql.DB) fixture {
	t.Helper()
	f := newFixture()
	f.createOwners(t, s)
	insertVersion7Client(t, raw, f.client)
	return f
}

// insertVersion7Client writes a client in the columns of schema version 7
// (those of version 1; options, none of which it has, as an empty object).
func insertVersion7Client(t *testing.T, raw *sql.DB, cl storage.Client) {
	t.Helper()
	if cl.Audience != "" || cl.ClientCredentialsRefresh || cl.Introspect || cl.IDTokenAlg != "" || cl.PostLogoutRedirectURIs != nil {
		t.Fatalf("client %q has settings an older release did not store", cl.ID)
	}
	uris, err := json.Marshal(cl.RedirectURIs)
	must(t, err, "encode redirect URIs")
	if cl.RedirectURIs == nil {
		uris = []byte("[]")
	}
	merchant := any(nil)
	if cl.MerchantID != "" {
		merchant = cl.MerchantID
	}
	_, err = raw.ExecContext(ctx(t), `INSERT INTO clients (id, name, secret_hash, grant_types, scopes, default_scopes,
		redirect_uris, access_token_ttl, refresh_token_ttl, merchant_id, account_kind, skip_consent, rotate_refresh,
		refresh_grace, require_pkce, allow_plain_pkce, access_token_format, dialect, dialect_options, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		cl.ID, cl.Name, cl.SecretHash, strings.Join(cl.GrantTypes, " "), strings.Join(cl.Scopes, " "),
		strings.Join(cl.DefaultScopes, " "), string(uris), cl.AccessTokenTTL.Milliseconds(), cl.RefreshTokenTTL.Milliseconds(),
		merchant, string(cl.AccountKind), cl.SkipConsent, cl.RotateRefresh, cl.RefreshGrace.Milliseconds(), cl.RequirePKCE,
		cl.AllowPlainPKCE, cl.AccessTokenFormat, cl.Dialect, "{}", cl.CreatedAt.UnixMilli())
	must(t, err, "write a client as an older release did")
}

// testCloseKeepsAnsweredWrites closes a store while writes are still
// queued for the group commit: each write either fails or, if it was
// answered without error, is in the database when it is opened again.
func testCloseKeepsAnsweredWrites(t *testing.T, reopen Reopener) {
	c := ctx(t)
	open, _ := reopen(t)
	s := open(0)
	f := setup(t, s)
	const n = 300
	errs := make([]error, n)
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			started.Done()
			errs[i] = s.CreateTokens(c, f.tokens(fmt.Sprintf("fam-close-%d", i), fmt.Sprintf("close-%d", i), now))
		}()
	}
	started.Wait()
	must(t, s.Close(), "close while writes are queued")
	done.Wait()

	s = open(0)
	defer s.Close()
	answered := 0
	for i, err := range errs {
		if err != nil {
			continue // refused because the store was closing: the caller knows
		}
		answered++
		_, err := s.GetAccessToken(c, fmt.Sprintf("at-close-%d", i))
		must(t, err, fmt.Sprintf("read write %d, answered before Close, after reopening", i))
	}
	t.Logf("%d of %d writes answered before Close, all found after reopening", answered, n)
}

// insertVersion1Tokens writes a token set in the columns of schema version
// 1, which every version up to 6 kept, as releases of those versions did.
func insertVersion1Tokens(t *testing.T, raw *sql.DB, ts storage.TokenSet) {
	t.Helper()
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	account := func(id string) any {
		if id == "" {
			return nil
		}
		return id
	}
	if a := ts.Access; a != nil {
		_, err := raw.ExecContext(ctx(t), `INSERT INTO access_tokens (id, family_id, client_id, account_id, owner_type, owner_id,
			scopes, issued_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.ID, a.FamilyID, a.ClientID, account(a.AccountID), string(a.Owner.Type), a.Owner.ID, strings.Join(a.Scopes, " "),
			ms(a.IssuedAt), ms(a.ExpiresAt), ms(a.RevokedAt))
		must(t, err, "write an access token as an older release did")
	}
	if r := ts.Refresh; r != nil {
		_, err := raw.ExecContext(ctx(t), `INSERT INTO refresh_tokens (id, family_id, client_id, account_id, owner_type, owner_id,
			scopes, access_token_id, issued_at, expires_at, rotated_at, successor_id, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			r.ID, r.FamilyID, r.ClientID, account(r.AccountID), string(r.Owner.Type), r.Owner.ID, strings.Join(r.Scopes, " "),
			r.AccessTokenID, ms(r.IssuedAt), ms(r.ExpiresAt), ms(r.RotatedAt), r.SuccessorID, ms(r.RevokedAt))
		must(t, err, "write a refresh token as an older release did")
	}
}
