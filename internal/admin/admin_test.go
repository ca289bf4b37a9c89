package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/latchkey-dev/latchkey/internal/admin"
	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/logbuf"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// env is a running latchkey with the demo data, two admin clients made
// for the test, and the OpenAPI validator every call goes through.
type env struct {
	site     *demoserver.Site
	v        validator.Validator
	logs     *logbuf.Buffer
	platform string // token of a platform admin
	m777     string // token of merchant 777777's admin
	secrets  []string
}

const (
	platformAdmin = "t-platform-admin"
	merchantAdmin = "t-admin-777777"
	adminSecret   = "test-admin-secret-0123456789"
)

func start(t *testing.T) *env { t.Helper(); return startOn(t, "") }

// startOn starts latchkey on the PostgreSQL database dsn, or SQLite when "".
func startOn(t *testing.T, dsn string) *env {
	t.Helper()
	logs := &logbuf.Buffer{}
	site := demoserver.Start(t, demoserver.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), DSN: dsn})
	e := &env{site: site, logs: logs}
	ctx := context.Background()
	for id, merchant := range map[string]string{platformAdmin: "", merchantAdmin: "777777"} {
		err := site.Store.CreateClient(ctx, storage.Client{ID: id, Name: "admin " + id, SecretHash: site.Keys.HashClientSecret(adminSecret),
			GrantTypes: []string{"client_credentials"}, Scopes: []string{admin.Scope}, DefaultScopes: []string{admin.Scope},
			AccessTokenTTL: 15 * time.Minute, MerchantID: merchant, AccountKind: storage.Staff, AccessTokenFormat: "opaque",
			CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.platform = e.clientToken(t, platformAdmin, adminSecret)
	e.m777 = e.clientToken(t, merchantAdmin, adminSecret)

	// The validator is built from the document as served.
	res, err := http.Get(site.URL + "/admin/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, ve := range verrs {
			t.Errorf("openapi document: %v", ve)
		}
		t.FailNow()
	}
	e.v = v
	return e
}

// clientToken gets an access token by client_credentials.
func (e *env) clientToken(t *testing.T, id, secret string) string {
	t.Helper()
	status, body := e.tokenRequest(t, id, secret, url.Values{"grant_type": {"client_credentials"}})
	if status != 200 || body["access_token"] == nil {
		t.Fatalf("client_credentials for %s: %d %v", id, status, body)
	}
	return body["access_token"].(string)
}

func (e *env) tokenRequest(t *testing.T, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.site.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// active introspects token with the demo's resource server.
func (e *env) active(t *testing.T, token string) bool {
	t.Helper()
	return e.introspect(t, token)["active"] == true
}

// introspect answers the demo resource server's introspection of token.
func (e *env) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", e.site.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(demo.DemoAPIClientID, demo.DemoAPISecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 {
		t.Fatalf("introspect: %d %v", res.StatusCode, err)
	}
	return body
}

// reply is an admin API answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r reply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

// problem checks that r is an RFC 9457 problem with status (and field, when given).
func (r reply) problem(t *testing.T, status int, field string) admin.Problem {
	t.Helper()
	var p admin.Problem
	if r.status != status || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s %s; want a %d problem", r.status, r.header.Get("Content-Type"), r.body, status)
	}
	r.decode(t, &p)
	if p.Status != status || p.Title == "" || p.Type == "" || p.Field != field {
		t.Fatalf("problem %+v; want status %d, a title and field %q", p, status, field)
	}
	return p
}

type opts struct {
	header  map[string]string
	invalid bool // the request is meant to break the document (no token, bad body)
}

// call makes one admin API request and validates it and its answer
// against the OpenAPI document.
func (e *env) call(t *testing.T, token, method, path string, body any, o ...opts) reply {
	t.Helper()
	var op opts
	if len(o) > 0 {
		op = o[0]
	}
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	newReq := func() *http.Request {
		req, err := http.NewRequest(method, e.site.URL+path, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range op.header {
			req.Header.Set(k, v)
		}
		return req
	}
	ok, errs := e.v.ValidateHttpRequest(newReq())
	if ok == op.invalid {
		t.Fatalf("%s %s: request valid %v, want %v (%v)", method, path, ok, !op.invalid, errs)
	}
	req := newReq()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(got))
	if ok, errs := e.v.ValidateHttpResponse(newReq(), res); !ok {
		for _, ve := range errs {
			t.Errorf("%s %s → %d %s: response breaks the document: %v", method, path, res.StatusCode, got, ve)
		}
		t.FailNow()
	}
	return reply{status: res.StatusCode, header: res.Header, body: got}
}

func (e *env) must(t *testing.T, status int, r reply) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s; want %d", r.status, r.body, status)
	}
	return r
}

func TestOpenAPIDocumentIsServedWithoutAuth(t *testing.T) {
	e := start(t)
	r := e.call(t, "", "GET", "/admin/v1/openapi.json", nil)
	doc := e.must(t, 200, r).object(t)
	want, err := admin.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, want) || !strings.HasPrefix(doc["openapi"].(string), "3.1") {
		t.Fatalf("served document differs from the embedded one, or is not 3.1: %v", doc["openapi"])
	}
}

// TestValidatorCatches makes sure the validator the tests rely on is not
// a no-op: answers that break the document are caught.
func TestValidatorCatches(t *testing.T) {
	e := start(t)
	req, _ := http.NewRequest("GET", e.site.URL+"/admin/v1/merchants/777777", nil)
	req.Header.Set("Authorization", "Bearer x")
	for _, bad := range []struct {
		status int
		ct     string
		body   string
	}{
		{200, "application/json", `{"id":7,"name":"x"}`},                                     // id not a string
		{200, "application/json", `{"id":"7","name":"x","secret":1}`},                        // unknown member
		{404, "application/json", `{"title":"nope"}`},                                        // not a problem
		{418, "application/problem+json", `{"type":"about:blank","title":"t","status":418}`}, // undocumented status
	} {
		res := &http.Response{StatusCode: bad.status, Header: http.Header{"Content-Type": {bad.ct}},
			Body: io.NopCloser(strings.NewReader(bad.body)), Request: req}
		if ok, _ := e.v.ValidateHttpResponse(req, res); ok {
			t.Errorf("validator accepts %d %s %s", bad.status, bad.ct, bad.body)
		}
	}
}

func TestAuthentication(t *testing.T) {
	e := start(t)
	r := e.call(t, "", "GET", "/admin/v1/clients", nil, opts{invalid: true})
	r.problem(t, 401, "")
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no bearer challenge: %q", r.header.Get("WWW-Authenticate"))
	}
	r = e.call(t, "not-a-token", "GET", "/admin/v1/clients", nil)
	r.problem(t, 401, "")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("challenge of an unknown token: %q", r.header.Get("WWW-Authenticate"))
	}
	// demo-api has no latchkey:admin scope.
	noScope := e.clientToken(t, demo.DemoAPIClientID, demo.DemoAPISecret)
	r = e.call(t, noScope, "GET", "/admin/v1/clients", nil)
	r.problem(t, 403, "")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("challenge without the scope: %q", r.header.Get("WWW-Authenticate"))
	}
	// The demo's own admin client is a platform admin.
	demoAdmin := e.clientToken(t, demo.DemoAdminClientID, demo.DemoAdminSecret)
	e.must(t, 200, e.call(t, demoAdmin, "GET", "/admin/v1/keys", nil))
	// A JWT access token works as an opaque one does, tenant included.
	err := e.site.Store.CreateClient(context.Background(), storage.Client{ID: "t-admin-jwt", Name: "JWT admin",
		SecretHash: e.site.Keys.HashClientSecret(adminSecret), GrantTypes: []string{"client_credentials"},
		Scopes: []string{admin.Scope}, DefaultScopes: []string{admin.Scope}, MerchantID: "777777", AccountKind: storage.Staff,
		AccessTokenFormat: "jwt", AccessTokenTTL: time.Minute, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	jwt := e.clientToken(t, "t-admin-jwt", adminSecret)
	if strings.Count(jwt, ".") != 2 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	e.must(t, 200, e.call(t, jwt, "GET", "/admin/v1/accounts/acc_demo_johndoe", nil))
	e.call(t, jwt, "GET", "/admin/v1/accounts/acc_demo_acmejewellers", nil).problem(t, 403, "")
	e.call(t, jwt+"x", "GET", "/admin/v1/clients", nil).problem(t, 401, "")
}

// TestTenantIsolation: merchant 777777's admin sees and changes only its
// merchant's accounts and clients; 123456's answer 403 (reads and
// writes), as do naming 123456 in a body and calling a platform-only
// endpoint; an unknown id is 404.
func TestTenantIsolation(t *testing.T) {
	e := start(t)
	tok := e.m777
	// accounts
	e.must(t, 200, e.call(t, tok, "GET", "/admin/v1/accounts/acc_demo_johndoe", nil))
	e.call(t, tok, "GET", "/admin/v1/accounts/acc_demo_acmejewellers", nil).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/accounts/acc_demo_acmejewellers/disable", nil).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/accounts/acc_demo_acmejewellers/password", map[string]string{"password": "long-enough-1"}).problem(t, 403, "")
	e.call(t, tok, "DELETE", "/admin/v1/accounts/acc_demo_acmejewellers", nil).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/tokens/revoke", map[string]string{"account_id": "acc_demo_acmejewellers"}).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/accounts", map[string]any{"kind": "guest", "username": "intruder", "merchant_id": "123456",
		"password": "long-enough-1"}).problem(t, 403, "merchant_id")
	e.call(t, tok, "POST", "/admin/v1/accounts", map[string]any{"kind": "staff", "username": "intruder",
		"memberships": []string{"merchant:777777", "merchant:123456"}, "password": "long-enough-1"}).problem(t, 403, "memberships")
	var accounts struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, tok, "GET", "/admin/v1/accounts?page_size=200", nil)).decode(t, &accounts)
	if len(accounts.Items) == 0 {
		t.Fatal("merchant admin lists no accounts")
	}
	for _, a := range accounts.Items {
		if a["merchant_id"] != "777777" {
			t.Errorf("merchant 777777's admin lists %v", a)
		}
	}
	// clients
	e.must(t, 200, e.call(t, tok, "GET", "/admin/v1/clients/awesomesite", nil))
	e.call(t, tok, "GET", "/admin/v1/clients/flexitidemo", nil).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/clients/flexitidemo/secret", nil).problem(t, 403, "")
	e.call(t, tok, "DELETE", "/admin/v1/clients/flexitidemo", nil).problem(t, 403, "")
	e.call(t, tok, "GET", "/admin/v1/clients/"+demo.DemoAdminClientID, nil).problem(t, 403, "") // a platform client
	e.call(t, tok, "POST", "/admin/v1/clients", map[string]any{"client_name": "Intruder", "grant_types": []string{"client_credentials"},
		"merchant_id": "123456"}).problem(t, 403, "merchant_id")
	var clients struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, tok, "GET", "/admin/v1/clients?page_size=200", nil)).decode(t, &clients)
	if len(clients.Items) == 0 {
		t.Fatal("merchant admin lists no clients")
	}
	for _, c := range clients.Items {
		if c["merchant_id"] != "777777" {
			t.Errorf("merchant 777777's admin lists client %v", c)
		}
	}
	// merchants, organizations, keys, tokens
	e.must(t, 200, e.call(t, tok, "GET", "/admin/v1/merchants/777777", nil))
	e.call(t, tok, "GET", "/admin/v1/merchants/123456", nil).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/merchants", map[string]string{"id": "999", "name": "Mine"}).problem(t, 403, "")
	e.call(t, tok, "DELETE", "/admin/v1/merchants/777777", nil).problem(t, 403, "")
	e.call(t, tok, "GET", "/admin/v1/organizations/o-2001", nil).problem(t, 403, "")
	e.call(t, tok, "GET", "/admin/v1/keys", nil).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/keys/rotate", nil).problem(t, 403, "")
	e.call(t, tok, "POST", "/admin/v1/tokens/revoke", map[string]string{"merchant_id": "123456"}).problem(t, 403, "merchant_id")
	// A staff account shared with other tenants is visible to each, but
	// changed only by the platform.
	err := e.site.Store.CreateClient(context.Background(), storage.Client{ID: "t-admin-m-1001", Name: "admin m-1001",
		SecretHash: e.site.Keys.HashClientSecret(adminSecret), GrantTypes: []string{"client_credentials"},
		Scopes: []string{admin.Scope}, DefaultScopes: []string{admin.Scope}, MerchantID: "m-1001", AccountKind: storage.Staff, AccessTokenFormat: "opaque",
		AccessTokenTTL: time.Minute, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	cafe := e.clientToken(t, "t-admin-m-1001", adminSecret)
	e.must(t, 200, e.call(t, cafe, "GET", "/admin/v1/accounts/acc_demo_aston_owner", nil))
	e.call(t, cafe, "POST", "/admin/v1/accounts/acc_demo_aston_owner/disable", nil).problem(t, 403, "")
	e.call(t, tok, "GET", "/admin/v1/accounts/acc_demo_aston_owner", nil).problem(t, 403, "")
	// An id that exists nowhere is 404 for a tenant admin too.
	e.call(t, tok, "GET", "/admin/v1/accounts/acc_nobody", nil).problem(t, 404, "")
	e.call(t, tok, "GET", "/admin/v1/clients/nobody", nil).problem(t, 404, "")
	e.call(t, tok, "GET", "/admin/v1/merchants/nobody", nil).problem(t, 404, "")
	e.call(t, tok, "GET", "/admin/v1/organizations/nobody", nil).problem(t, 404, "")
	// The platform admin sees both.
	e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/accounts/acc_demo_acmejewellers", nil))
	e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/clients/flexitidemo", nil))
}

// TestClientLifecycle: a client registered through the API gets a token
// at once; its secret is shown once (never by GET, never in the logs);
// rotation honours If-Match; deleting it kills its tokens.
func TestClientLifecycle(t *testing.T) { clientLifecycle(t, start(t)) }

func clientLifecycle(t *testing.T, e *env) {
	r := e.must(t, 201, e.call(t, e.m777, "POST", "/admin/v1/clients", map[string]any{"client_id": "pos-777",
		"client_name": "POS", "grant_types": []string{"client_credentials"}, "scope": "user_read", "default_scope": "user_read",
		"access_token_ttl": 600}))
	created := r.object(t)
	secret, _ := created["client_secret"].(string)
	if r.header.Get("Location") != "/admin/v1/clients/pos-777" || secret == "" || created["merchant_id"] != "777777" ||
		created["token_endpoint_auth_method"] != "client_secret_basic" || created["access_token_ttl"] != float64(600) {
		t.Fatalf("created client: %s (Location %q)", r.body, r.header.Get("Location"))
	}
	token := e.clientToken(t, "pos-777", secret)
	if !e.active(t, token) {
		t.Fatal("new client's token is not active")
	}
	got := e.must(t, 200, e.call(t, e.m777, "GET", "/admin/v1/clients/pos-777", nil))
	if _, has := got.object(t)["client_secret"]; has || strings.Contains(string(got.body), secret) {
		t.Fatalf("GET shows a secret: %s", got.body)
	}
	etag := got.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on GET")
	}
	e.call(t, e.m777, "POST", "/admin/v1/clients/pos-777/secret", nil, opts{header: map[string]string{"If-Match": `"stale"`}}).problem(t, 412, "")
	rot := e.must(t, 200, e.call(t, e.m777, "POST", "/admin/v1/clients/pos-777/secret", nil, opts{header: map[string]string{"If-Match": etag}})).object(t)
	newSecret, _ := rot["client_secret"].(string)
	if newSecret == "" || newSecret == secret {
		t.Fatalf("rotation gave secret %q", newSecret)
	}
	if status, _ := e.tokenRequest(t, "pos-777", secret, url.Values{"grant_type": {"client_credentials"}}); status != 401 {
		t.Errorf("old secret after rotation: %d, want 401", status)
	}
	token = e.clientToken(t, "pos-777", newSecret)
	e.call(t, e.m777, "POST", "/admin/v1/clients", map[string]any{"client_id": "pos-777", "client_name": "POS again",
		"grant_types": []string{"client_credentials"}}).problem(t, 409, "")
	e.must(t, 204, e.call(t, e.m777, "DELETE", "/admin/v1/clients/pos-777", nil))
	status, body := e.tokenRequest(t, "pos-777", newSecret, url.Values{"grant_type": {"client_credentials"}})
	if status != 401 || body["error"] != "invalid_client" {
		t.Errorf("deleted client at the token endpoint: %d %v", status, body)
	}
	if e.active(t, token) {
		t.Error("deleted client's token still active")
	}
	e.call(t, e.m777, "GET", "/admin/v1/clients/pos-777", nil).problem(t, 404, "")
	for _, s := range []string{secret, newSecret, adminSecret} {
		if strings.Contains(e.logs.String(), s) {
			t.Fatal("a client secret is in the logs")
		}
	}
	if !strings.Contains(e.logs.String(), `"actor":"`+merchantAdmin+`"`) || !strings.Contains(e.logs.String(), "client.secret_rotated") {
		t.Errorf("changes are not logged with their actor:\n%s", e.logs.String())
	}
	// A public client has no secret to show or rotate.
	pub := e.must(t, 201, e.call(t, e.m777, "POST", "/admin/v1/clients", map[string]any{"client_name": "SPA",
		"grant_types": []string{"authorization_code"}, "token_endpoint_auth_method": "none",
		"redirect_uris": []string{"https://spa.example/cb"}})).object(t)
	if _, has := pub["client_secret"]; has || pub["require_pkce"] != true {
		t.Fatalf("public client: %v", pub)
	}
	e.call(t, e.m777, "POST", "/admin/v1/clients/"+pub["client_id"].(string)+"/secret", nil).problem(t, 422, "")
}

// TestAccountLifecycle: create (password never echoed), disable kills the
// account's tokens, If-Match guards it, revoke by account_id.
func TestAccountLifecycle(t *testing.T) { accountLifecycle(t, start(t)) }

// TestOnPostgres runs the lifecycles on PostgreSQL (skipped without
// LATCHKEY_TEST_POSTGRES_DSN).
func TestOnPostgres(t *testing.T) {
	t.Run("clients", func(t *testing.T) { clientLifecycle(t, startOn(t, pgtest.DSN(t))) })
	t.Run("accounts", func(t *testing.T) { accountLifecycle(t, startOn(t, pgtest.DSN(t))) })
	t.Run("organization", func(t *testing.T) { organizationBoundAdmin(t, startOn(t, pgtest.DSN(t))) })
}

func accountLifecycle(t *testing.T, e *env) {
	const password = "guest-password-42"
	r := e.must(t, 201, e.call(t, e.m777, "POST", "/admin/v1/accounts", map[string]any{"kind": "guest", "username": "alice",
		"password": password}))
	acc := r.object(t)
	id, _ := acc["id"].(string)
	if acc["merchant_id"] != "777777" || !strings.HasPrefix(id, "acc_") || r.header.Get("Location") != "/admin/v1/accounts/"+id ||
		strings.Contains(string(r.body), password) {
		t.Fatalf("created account: %s", r.body)
	}
	cl := e.must(t, 201, e.call(t, e.m777, "POST", "/admin/v1/clients", map[string]any{"client_name": "App",
		"grant_types": []string{"password"}, "scope": "user_read", "default_scope": "user_read"})).object(t)
	login := func() string {
		t.Helper()
		status, body := e.tokenRequest(t, cl["client_id"].(string), cl["client_secret"].(string),
			url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {password}})
		if status != 200 {
			t.Fatalf("password grant: %d %v", status, body)
		}
		return body["access_token"].(string)
	}
	token := login()
	e.must(t, 204, e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"account_id": id}))
	if e.active(t, token) {
		t.Fatal("token active after revoke by account")
	}
	token = login()
	etag := e.must(t, 200, e.call(t, e.m777, "GET", "/admin/v1/accounts/"+id, nil)).header.Get("ETag")
	dis := e.must(t, 200, e.call(t, e.m777, "POST", "/admin/v1/accounts/"+id+"/disable", nil, opts{header: map[string]string{"If-Match": etag}}))
	if dis.object(t)["disabled"] != true || dis.header.Get("ETag") == etag {
		t.Fatalf("disable: %s", dis.body)
	}
	if e.active(t, token) {
		t.Fatal("disabled account's token still active")
	}
	// The ETag read before the disable is stale now.
	e.call(t, e.m777, "POST", "/admin/v1/accounts/"+id+"/enable", nil, opts{header: map[string]string{"If-Match": etag}}).problem(t, 412, "")
	e.must(t, 200, e.call(t, e.m777, "POST", "/admin/v1/accounts/"+id+"/enable", nil, opts{header: map[string]string{"If-Match": dis.header.Get("ETag")}}))
	login()
	e.call(t, e.m777, "POST", "/admin/v1/accounts/"+id+"/password", map[string]string{"password": "short"}).problem(t, 422, "password")
	e.must(t, 204, e.call(t, e.m777, "POST", "/admin/v1/accounts/"+id+"/password", map[string]string{"password": "another-long-one"}))
	e.call(t, e.m777, "POST", "/admin/v1/accounts", map[string]any{"kind": "guest", "username": "alice",
		"password": password}).problem(t, 409, "")
	e.must(t, 204, e.call(t, e.m777, "DELETE", "/admin/v1/accounts/"+id, nil))
	e.call(t, e.m777, "GET", "/admin/v1/accounts/"+id, nil).problem(t, 404, "")
	if strings.Contains(e.logs.String(), password) {
		t.Fatal("a password is in the logs")
	}
	e.must(t, 204, e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"client_id": "awesomesite"}))
}

func TestMerchantsAndOrganizations(t *testing.T) {
	e := start(t)
	p := e.platform
	r := e.must(t, 201, e.call(t, p, "POST", "/admin/v1/organizations", map[string]string{"id": "o-9", "name": "Group"}))
	if r.header.Get("Location") != "/admin/v1/organizations/o-9" {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	e.call(t, p, "POST", "/admin/v1/organizations", map[string]string{"id": "o-9", "name": "Again"}).problem(t, 409, "")
	e.must(t, 201, e.call(t, p, "POST", "/admin/v1/merchants", map[string]string{"id": "m-9", "name": "Shop", "organization_id": "o-9"}))
	e.call(t, p, "POST", "/admin/v1/merchants", map[string]string{"id": "m-10", "name": "Shop", "organization_id": "nope"}).problem(t, 422, "organization_id")
	e.call(t, p, "POST", "/admin/v1/merchants", map[string]string{"id": "has space", "name": "Shop"}).problem(t, 422, "id")
	e.call(t, p, "POST", "/admin/v1/merchants", map[string]any{"id": 7, "name": "Shop"}, opts{invalid: true}).problem(t, 400, "id")
	e.call(t, p, "POST", "/admin/v1/merchants", map[string]any{"id": "m-11", "name": "Shop", "colour": "red"}, opts{invalid: true}).problem(t, 400, "colour")
	e.call(t, p, "POST", "/admin/v1/merchants", "{", opts{invalid: true}).problem(t, 400, "")
	e.call(t, p, "DELETE", "/admin/v1/organizations/o-9", nil).problem(t, 409, "")
	got := e.must(t, 200, e.call(t, p, "GET", "/admin/v1/merchants/m-9", nil))
	if got.object(t)["organization_id"] != "o-9" {
		t.Fatalf("merchant: %s", got.body)
	}
	e.call(t, p, "DELETE", "/admin/v1/merchants/m-9", nil, opts{header: map[string]string{"If-Match": `"x"`}}).problem(t, 412, "")
	e.must(t, 204, e.call(t, p, "DELETE", "/admin/v1/merchants/m-9", nil, opts{header: map[string]string{"If-Match": got.header.Get("ETag")}}))
	e.call(t, p, "GET", "/admin/v1/merchants/m-9", nil).problem(t, 404, "")
	e.must(t, 204, e.call(t, p, "DELETE", "/admin/v1/organizations/o-9", nil))
	e.call(t, p, "DELETE", "/admin/v1/organizations/o-9", nil).problem(t, 404, "")
	e.call(t, p, "POST", "/admin/v1/clients", map[string]any{"client_name": "Bad", "grant_types": []string{"authorization_code"},
		"account_kind": "staff", "redirect_uris": []string{"http://app.example/cb"}}).problem(t, 422, "redirect_uris")
	e.call(t, p, "POST", "/admin/v1/clients", map[string]any{"client_name": "Guests", "grant_types": []string{"password"}}).problem(t, 422, "merchant_id")
}

// TestPagination walks every page of the clients and accounts lists.
func TestPagination(t *testing.T) {
	e := start(t)
	for i := range 5 {
		e.must(t, 201, e.call(t, e.platform, "POST", "/admin/v1/accounts", map[string]any{"kind": "guest",
			"username": "page" + string(rune('a'+i)), "merchant_id": "123456", "password": "long-enough-1"}))
	}
	for _, list := range []struct {
		path string
		key  string
		all  func() int
	}{
		{"/admin/v1/clients", "client_id", func() int {
			cs, _ := e.site.Store.ListClients(context.Background())
			return len(cs)
		}},
		{"/admin/v1/accounts", "id", func() int {
			as, _ := e.site.Store.ListAccounts(context.Background(), storage.AccountFilter{})
			return len(as)
		}},
	} {
		seen := map[string]bool{}
		last := ""
		next := ""
		pages := 0
		for {
			q := "?page_size=2"
			if next != "" {
				q += "&page_token=" + url.QueryEscape(next)
			}
			var p struct {
				Items         []map[string]any `json:"items"`
				NextPageToken string           `json:"next_page_token"`
			}
			e.must(t, 200, e.call(t, e.platform, "GET", list.path+q, nil)).decode(t, &p)
			pages++
			if len(p.Items) == 0 || len(p.Items) > 2 {
				t.Fatalf("%s page %d has %d items", list.path, pages, len(p.Items))
			}
			for _, it := range p.Items {
				id := it[list.key].(string)
				if seen[id] || id <= last {
					t.Fatalf("%s: %q repeated or out of order", list.path, id)
				}
				seen[id], last = true, id
			}
			if p.NextPageToken == "" {
				break
			}
			next = p.NextPageToken
		}
		if want := list.all(); len(seen) != want || pages != (want+1)/2 {
			t.Fatalf("%s: walked %d items in %d pages; the store holds %d", list.path, len(seen), pages, want)
		}
	}
	e.call(t, e.platform, "GET", "/admin/v1/clients?page_size=0", nil).problem(t, 400, "page_size")
	e.call(t, e.platform, "GET", "/admin/v1/clients?page_size=201", nil).problem(t, 400, "page_size")
	e.call(t, e.platform, "GET", "/admin/v1/clients?page_token=%21%21", nil).problem(t, 400, "page_token")
	e.call(t, e.platform, "GET", "/admin/v1/accounts?kind=robot", nil).problem(t, 400, "kind")
	var guests struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/accounts?kind=guest&merchant_id=123456", nil)).decode(t, &guests)
	if len(guests.Items) != 5 {
		t.Fatalf("guests of 123456: %d, want 5", len(guests.Items))
	}
}

func TestKeys(t *testing.T) {
	e := start(t)
	var before struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/keys", nil)).decode(t, &before)
	var rotated struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.platform, "POST", "/admin/v1/keys/rotate", map[string]any{"algorithms": []string{"ES256"}})).decode(t, &rotated)
	var after struct{ Items []map[string]any }
	r := e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/keys", nil))
	r.decode(t, &after)
	if len(after.Items) != len(before.Items)+1 {
		t.Fatalf("keys: %d before, %d after rotating one algorithm", len(before.Items), len(after.Items))
	}
	if strings.Contains(string(r.body), "private") || strings.Contains(string(r.body), `"d"`) {
		t.Fatalf("key list shows private material: %s", r.body)
	}
	// A body that is not JSON, or is compressed, is 415, and one over the
	// server's 1 MiB is 413: problems, as the document says, though the
	// server refuses the last two before the API's handlers run.
	e.call(t, e.platform, "POST", "/admin/v1/keys/rotate", "algorithms=ES256",
		opts{invalid: true, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}).problem(t, 415, "")
	e.call(t, e.platform, "POST", "/admin/v1/keys/rotate", `{"algorithms":["ES256"]}`,
		opts{header: map[string]string{"Content-Encoding": "gzip"}}).problem(t, 415, "") // the validator reads no coding
	for _, size := range []int{100 << 10, 1 << 20} { // over the API's 64 KiB, over the server's 1 MiB
		e.call(t, e.platform, "POST", "/admin/v1/keys/rotate", `{"algorithms":["ES256"],"pad":"`+strings.Repeat("x", size)+`"}`,
			opts{invalid: true}).problem(t, 413, "")
	}
	// The Directory's rules, in the API's words; nothing is rotated.
	for _, secs := range []int64{-5, 1 << 62} {
		e.call(t, e.platform, "POST", "/admin/v1/keys/rotate", map[string]any{"publish_ahead": secs},
			opts{invalid: secs < 0}).problem(t, 422, "publish_ahead")
	}
	e.call(t, e.platform, "POST", "/admin/v1/keys/rotate", map[string]any{"algorithms": []string{"PS256"}},
		opts{invalid: true}).problem(t, 422, "algorithms")
	e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/keys", nil)).decode(t, &before)
	if len(before.Items) != len(after.Items) {
		t.Fatalf("a refused rotation changed the keys: %d, then %d", len(after.Items), len(before.Items))
	}
}
