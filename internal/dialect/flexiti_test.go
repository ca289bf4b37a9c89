package dialect_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
)

// The seed's example request bodies, byte for byte (seed 002).
const flexitiTokenBody = `{
    "client_id": "flexitidemo",
    "client_secret": "77xde15a-9d33-4c15-930a-3se4b3as33e9",
    "grant_type": "client_credentials",
    "scope": "merchant"
}`

const flexitiLoginBody = `{
    "merchant_username": "acmejewellers",
    "merchant_password": "dice-vanila-purse"
}`

const (
	flexitiToken = "/flexiti/pos-api/v2.5/oauth/token"
	flexitiLogin = "/flexiti/pos-api/v2.5/client-id/flexitidemo/merchants/login"
	// flexitiDemoSecret is the demo flexiti client's secret (docs/DEMO.md).
	flexitiDemoSecret = "77xde15a-9d33-4c15-930a-3se4b3as33e9"
	flexitiFormType   = "application/x-www-form-urlencoded"
)

func flexitiTokenFor(t *testing.T, base, scope string) string {
	t.Helper()
	form := url.Values{"client_id": {"flexitidemo"}, "client_secret": {flexitiDemoSecret}, "scope": {scope}}
	status, _, got := send(t, base+flexitiToken, flexitiFormType, form.Encode(), map[string]string{"x-reference-id": "ref-1"})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, got)
	}
	return got["access_token"].(string)
}

// flexitiSite serves the demo data with the flexiti dialect, for tests that
// also reach into the store.
func flexitiSite(t *testing.T) *demoserver.Site {
	return demoserver.Start(t, demoserver.Options{Dialects: []string{"flexiti"}})
}

// flexitiForm is a token request of the demo client, plus extra parameters.
func flexitiForm(extra url.Values) string {
	form := url.Values{"client_id": {"flexitidemo"}, "client_secret": {flexitiDemoSecret}}
	for k, v := range extra {
		form[k] = v
	}
	return form.Encode()
}

// flexitiRef is a request's x-reference-id header.
func flexitiRef(id string) map[string]string { return map[string]string{"x-reference-id": id} }

// flexitiBearer is a merchant login's headers: a bearer token and an x-reference-id.
func flexitiBearer(token, id string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "x-reference-id": id}
}

// flexitiStoredToken stores an access token of the demo flexiti client with the
// given scopes and expiry, for states the token endpoint does not issue.
func flexitiStoredToken(t *testing.T, site *demoserver.Site, scopes []string, expires time.Time) string {
	t.Helper()
	tok, id := site.Keys.NewToken(secrets.AccessTokenKind)
	at := &storage.AccessToken{ID: id, ClientID: "flexitidemo", Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "123456"},
		Scopes: scopes, IssuedAt: expires.Add(-time.Minute), ExpiresAt: expires}
	if err := site.Store.CreateTokens(context.Background(), storage.TokenSet{Access: at}); err != nil {
		t.Fatal(err)
	}
	return tok
}

// wantFlexitiError checks an answer in Flexiti's error shape: the status,
// exactly the fields url (the request path), message, error,
// error_description (message again) and, when param is not "",
// field_errors naming param with an empty value.
func wantFlexitiError(t *testing.T, what string, status int, got map[string]any, wantStatus int, path, code, param string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d: %v", what, status, wantStatus, got)
	}
	msg, _ := got["message"].(string)
	if msg == "" {
		t.Errorf("%s: message is missing or empty: %v", what, got)
	}
	want(t, what, got, map[string]any{"url": path, "error": code, "error_description": msg})
	fields := []string{"url", "message", "error", "error_description"}
	if param != "" {
		fields = append(fields, "field_errors")
		var item map[string]any
		if list, _ := got["field_errors"].([]any); len(list) == 1 {
			item, _ = list[0].(map[string]any)
		}
		if item == nil || len(item) != 3 || item["param"] != param || item["msg"] != msg || item["value"] != "" {
			t.Errorf("%s: field_errors = %v, want one {param: %q, msg: the message, value: \"\"}", what, got["field_errors"], param)
		}
	}
	for k := range got {
		if !slices.Contains(fields, k) {
			t.Errorf("%s: unexpected field %s in %v", what, k, got)
		}
	}
}

// wantFlexitiHeader checks one response header: a value, a prefix (ending in "*")
// or absence ("").
func wantFlexitiHeader(t *testing.T, what string, h http.Header, name, value string) {
	t.Helper()
	got := h.Get(name)
	switch {
	case value == "" && got != "":
		t.Errorf("%s: %s = %q, want none", what, name, got)
	case strings.HasSuffix(value, "*") && !strings.HasPrefix(got, strings.TrimSuffix(value, "*")):
		t.Errorf("%s: %s = %q, want %s", what, name, got, value)
	case value != "" && !strings.HasSuffix(value, "*") && got != value:
		t.Errorf("%s: %s = %q, want %q", what, name, got, value)
	}
}

func TestFlexitiSeedExamples(t *testing.T) {
	base := newDemo(t)
	ref := "3f1c2b9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f"
	// The seed prints a JSON body and says the service expects a form: both work.
	status, h, got := send(t, base+flexitiToken, "application/json", flexitiTokenBody, map[string]string{"x-reference-id": ref})
	if status != http.StatusOK || h.Get("x-reference-id") != ref {
		t.Fatalf("JSON token request: %d %v, x-reference-id %q", status, got, h.Get("x-reference-id"))
	}
	want(t, "client_credentials", got, map[string]any{"token_type": "bearer", "access_token": "*", "expires_in": float64(1200),
		"refresh_token": "*", "scope": "merchant"})
	// Defaults: grant_type client_credentials, scope merchant.
	form := url.Values{"client_id": {"flexitidemo"}, "client_secret": {"77xde15a-9d33-4c15-930a-3se4b3as33e9"}}
	status, _, got = send(t, base+flexitiToken, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"x-reference-id": ref})
	if status != http.StatusOK {
		t.Fatalf("form defaults: %d %v", status, got)
	}
	want(t, "defaults", got, map[string]any{"scope": "merchant", "expires_in": float64(1200), "refresh_token": "*"})
	// refresh_token and password grants.
	form.Set("grant_type", "refresh_token")
	first := got["refresh_token"].(string)
	form.Set("refresh_token", first)
	status, _, got = send(t, base+flexitiToken, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"x-reference-id": ref})
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, got)
	}
	want(t, "refresh", got, map[string]any{"token_type": "bearer", "scope": "merchant", "refresh_token": "*"})
	if got["refresh_token"] == first {
		t.Error("refresh: the refresh token was not rotated (the seed is silent; latchkey rotates for flexiti clients)")
	}
	pw := url.Values{"client_id": {"flexitidemo"}, "client_secret": {"77xde15a-9d33-4c15-930a-3se4b3as33e9"}, "grant_type": {"password"},
		"username": {"acmejewellers"}, "password": {"dice-vanila-purse"}, "scope": {"customer"}}
	status, _, got = send(t, base+flexitiToken, "application/x-www-form-urlencoded", pw.Encode(), map[string]string{"x-reference-id": ref})
	if status != http.StatusOK {
		t.Fatalf("password: %d %v", status, got)
	}
	want(t, "password", got, map[string]any{"scope": "customer", "expires_in": float64(1200), "refresh_token": "*"})

	// The deprecated merchant login, with a customer-scope token, in English and French.
	customer := got["access_token"].(string)
	login := base + "/flexiti/pos-api/v2.5/client-id/flexitidemo/merchants/login"
	hdr := map[string]string{"Authorization": "Bearer " + customer, "x-reference-id": ref}
	status, h, got = send(t, login+"?lang=en", "application/json", flexitiLoginBody, hdr)
	if status != http.StatusOK || h.Get("Deprecation") == "" || !strings.Contains(h.Get("Link"), "successor-version") {
		t.Fatalf("merchant login: %d %v %v", status, got, h)
	}
	want(t, "merchant login", got, map[string]any{"merchant_name": "ACME Jewellers", "merchant_id": "123456"})
	fv := got["form_values"].(map[string]any)
	for _, k := range []string{"salutation", "province", "security_qid", "govid_type", "govid_issued_by", "occupation_id"} {
		if fv[k] == nil {
			t.Errorf("form_values.%s missing", k)
		}
	}
	if got["occupation_id"] == nil {
		t.Error("occupation_id missing at the top level, where the seed prints it")
	}
	options := func(m map[string]any, field string) map[string]any {
		return m[field].(map[string]any)["options"].(map[string]any)
	}
	if options(fv, "salutation")["mss"] != "Miss." || options(fv, "province")["NL"] != "Newfoundland & Labrador" ||
		options(fv, "govid_type")["CACAID"] != "NEXUS or CANPASS Air membership card (issued by Canada Border Services Agency)" ||
		fv["govid_issued_by"].(map[string]any)["option_depends"].(map[string]any)["CAPID"].(map[string]any)["ON"] != "Ontario" ||
		options(fv, "occupation_id")["UW"] != "Unemployed without income" {
		t.Errorf("English form values differ from the seed: %v", fv)
	}
	status, _, got = send(t, login+"?lang=fr", "application/json", "", hdr)
	if status != http.StatusOK {
		t.Fatalf("French merchant login: %d %v", status, got)
	}
	fv = got["form_values"].(map[string]any)
	if options(fv, "province")["QC"] != "Québec" || options(fv, "province")["PE"] != "Île-du-Prince-Édouard" ||
		options(fv, "govid_type")["CADL"] != "Permis de conduire" || options(fv, "occupation_id")["RT"] != "Retraité" {
		t.Errorf("French form values: %v", fv)
	}
}

// Token endpoint, Flexiti's table row by row.

// TestFlexitiTokenInvalidClient: wrong or missing client credentials are
// 400 invalid_client, with the Basic challenge wherever the core asks for
// one (the client tried Basic, or sent nothing).
func TestFlexitiTokenInvalidClient(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	basicAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("flexitidemo:wrong-secret"))
	for _, tc := range []struct {
		name, body string
		headers    map[string]string
		challenge  string
	}{
		{"wrong secret in the body", strings.Replace(flexitiTokenBody, "77xde15a", "88xde15a", 1), flexitiRef("ref-a"), ""},
		{"unknown client", strings.Replace(flexitiTokenBody, `"flexitidemo"`, `"nobody"`, 1), flexitiRef("ref-b"), ""},
		{"wrong secret by Basic", `{"grant_type": "client_credentials"}`,
			map[string]string{"x-reference-id": "ref-c", "Authorization": basicAuth}, "Basic *"},
		{"no credentials", `{"grant_type": "client_credentials"}`, flexitiRef("ref-d"), "Basic *"},
	} {
		status, h, got := send(t, base+flexitiToken, "application/json", tc.body, tc.headers)
		wantFlexitiError(t, tc.name, status, got, http.StatusBadRequest, flexitiToken, "invalid_client", "")
		wantFlexitiHeader(t, tc.name, h, "WWW-Authenticate", tc.challenge)
		wantFlexitiHeader(t, tc.name, h, "x-reference-id", tc.headers["x-reference-id"])
	}
}

// TestFlexitiTokenInvalidGrantType: an unknown or repeated grant_type is 400
// invalid_request; a missing one defaults to client_credentials.
func TestFlexitiTokenInvalidGrantType(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	for name, body := range map[string]string{
		"implicit": flexitiForm(url.Values{"grant_type": {"implicit"}}),
		"made up":  flexitiForm(url.Values{"grant_type": {"cheese"}}),
		"repeated": flexitiForm(nil) + "&grant_type=password&grant_type=client_credentials",
	} {
		status, h, got := send(t, base+flexitiToken, flexitiFormType, body, flexitiRef("ref-gt"))
		wantFlexitiError(t, name, status, got, http.StatusBadRequest, flexitiToken, "invalid_request", "")
		wantFlexitiHeader(t, name, h, "x-reference-id", "ref-gt")
	}
	for name, body := range map[string]string{"missing": flexitiForm(nil), "empty": flexitiForm(url.Values{"grant_type": {""}})} {
		if status, _, got := send(t, base+flexitiToken, flexitiFormType, body, flexitiRef("ref-gt")); status != http.StatusOK {
			t.Errorf("%s grant_type: %d %v, want the client_credentials default", name, status, got)
		}
	}
}

// TestFlexitiTokenReferenceID: a missing or over-long x-reference-id is 400
// invalid_request; 64 characters are accepted and echoed.
func TestFlexitiTokenReferenceID(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	for name, headers := range map[string]map[string]string{
		"missing":       nil,
		"65 characters": flexitiRef(strings.Repeat("r", 65)),
	} {
		status, h, got := send(t, base+flexitiToken, flexitiFormType, flexitiForm(nil), headers)
		wantFlexitiError(t, name, status, got, http.StatusBadRequest, flexitiToken, "invalid_request", "")
		wantFlexitiHeader(t, name, h, "x-reference-id", "")
	}
	long := strings.Repeat("r", 64)
	status, h, got := send(t, base+flexitiToken, flexitiFormType, flexitiForm(nil), flexitiRef(long))
	if status != http.StatusOK {
		t.Fatalf("64 characters: %d %v", status, got)
	}
	wantFlexitiHeader(t, "64 characters", h, "x-reference-id", long)
}

// TestFlexitiTokenWrongInputs: input errors naming their parameter are 409
// wrong_inputs with field_errors, whose value never echoes what was sent.
func TestFlexitiTokenWrongInputs(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	for _, tc := range []struct{ name, body, param string }{
		{"password missing", flexitiForm(url.Values{"grant_type": {"password"}, "username": {"acmejewellers"}}), "password"},
		{"username missing", flexitiForm(url.Values{"grant_type": {"password"}, "password": {"dice-vanila-purse"}}), "username"},
		{"refresh_token missing", flexitiForm(url.Values{"grant_type": {"refresh_token"}}), "refresh_token"},
		{"scope repeated", flexitiForm(nil) + "&scope=merchant&scope=customer", "scope"},
		{"client_secret repeated", flexitiForm(nil) + "&client_secret=" + flexitiDemoSecret, "client_secret"},
	} {
		status, h, got := send(t, base+flexitiToken, flexitiFormType, tc.body, flexitiRef("ref-wi"))
		wantFlexitiError(t, tc.name, status, got, http.StatusConflict, flexitiToken, "wrong_inputs", tc.param)
		wantFlexitiHeader(t, tc.name, h, "x-reference-id", "ref-wi")
		if msg, _ := got["message"].(string); strings.Contains(msg, flexitiDemoSecret) {
			t.Errorf("%s: the answer echoes the secret: %v", tc.name, got)
		}
	}
}

// TestFlexitiTokenWrongInputsWithoutParam: malformed input the core cannot
// pin on one parameter is 409 wrong_inputs without field_errors.
func TestFlexitiTokenWrongInputsWithoutParam(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	for name, tc := range map[string]struct{ contentType, body string }{
		"broken JSON":          {"application/json", `{"client_id": "flexitidemo",`},
		"unsupported type":     {"application/xml", "<token/>"},
		"semicolon separators": {flexitiFormType, "client_id=flexitidemo;client_secret=x"},
	} {
		status, h, got := send(t, base+flexitiToken, tc.contentType, tc.body, flexitiRef("ref-wp"))
		wantFlexitiError(t, name, status, got, http.StatusConflict, flexitiToken, "wrong_inputs", "")
		wantFlexitiHeader(t, name, h, "x-reference-id", "ref-wp")
	}
}

// TestFlexitiTokenInvalidScope keeps RFC 6749's 400 invalid_scope, in Flexiti's shape.
func TestFlexitiTokenInvalidScope(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	status, h, got := send(t, base+flexitiToken, "application/json", strings.Replace(flexitiTokenBody, `"merchant"`, `"admin"`, 1), flexitiRef("ref-sc"))
	wantFlexitiError(t, "unknown scope", status, got, http.StatusBadRequest, flexitiToken, "invalid_scope", "")
	wantFlexitiHeader(t, "unknown scope", h, "x-reference-id", "ref-sc")
}

// TestFlexitiTokenInvalidGrant keeps RFC 6749's 400 invalid_grant on the
// token endpoint, and the throttle's 429 with Retry-After.
func TestFlexitiTokenInvalidGrant(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	for name, body := range map[string]string{
		"unknown refresh token": flexitiForm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"lk_rt_nope"}}),
		"wrong password": flexitiForm(url.Values{"grant_type": {"password"}, "username": {"acmejewellers"},
			"password": {"not-the-password"}}),
	} {
		status, h, got := send(t, base+flexitiToken, flexitiFormType, body, flexitiRef("ref-ig"))
		wantFlexitiError(t, name, status, got, http.StatusBadRequest, flexitiToken, "invalid_grant", "")
		wantFlexitiHeader(t, name, h, "x-reference-id", "ref-ig")
		wantFlexitiHeader(t, name, h, "Retry-After", "")
	}
	wrong := flexitiForm(url.Values{"grant_type": {"password"}, "username": {"throttled"}, "password": {"guess"}})
	for range 10 { // the core's per-account limit
		send(t, base+flexitiToken, flexitiFormType, wrong, flexitiRef("ref-ig"))
	}
	status, h, got := send(t, base+flexitiToken, flexitiFormType, wrong, flexitiRef("ref-ig"))
	wantFlexitiError(t, "throttled", status, got, http.StatusTooManyRequests, flexitiToken, "invalid_grant", "")
	if h.Get("Retry-After") == "" {
		t.Error("throttled: no Retry-After")
	}
}

// TestFlexitiTokenUnauthorizedClient keeps RFC 6749's 400 unauthorized_client.
func TestFlexitiTokenUnauthorizedClient(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	body := flexitiForm(url.Values{"grant_type": {"authorization_code"}, "code": {"lk_ac_nope"}})
	status, h, got := send(t, base+flexitiToken, flexitiFormType, body, flexitiRef("ref-uc"))
	wantFlexitiError(t, "authorization_code grant", status, got, http.StatusBadRequest, flexitiToken, "unauthorized_client", "")
	wantFlexitiHeader(t, "authorization_code grant", h, "x-reference-id", "ref-uc")
}

// TestFlexitiTokenUnavailable keeps 503 temporarily_unavailable and its
// Retry-After when the database fails.
func TestFlexitiTokenUnavailable(t *testing.T) {
	t.Parallel()
	site := flexitiSite(t)
	site.Store.Close() // every query fails from now on
	status, h, got := send(t, site.URL+flexitiToken, flexitiFormType, flexitiForm(nil), flexitiRef("ref-un"))
	wantFlexitiError(t, "database down", status, got, http.StatusServiceUnavailable, flexitiToken, "temporarily_unavailable", "")
	wantFlexitiHeader(t, "database down", h, "Retry-After", "1")
	wantFlexitiHeader(t, "database down", h, "x-reference-id", "ref-un")
}

// Merchant login, Flexiti's table row by row.

// TestFlexitiLoginInvalidToken: a missing, unknown, expired or foreign
// bearer token is 401 invalid_token with RFC 6750's challenge.
func TestFlexitiLoginInvalidToken(t *testing.T) {
	t.Parallel()
	site := flexitiSite(t)
	merchant := flexitiTokenFor(t, site.URL, "merchant")
	expired := flexitiStoredToken(t, site, []string{"merchant"}, time.Now().Add(-time.Hour))
	other := strings.Replace(flexitiLogin, "flexitidemo", "test_client", 1)
	for _, tc := range []struct{ name, path, token string }{
		{"no token", flexitiLogin, ""},
		{"unknown token", flexitiLogin, "lk_at_unknown"},
		{"expired token", flexitiLogin, expired},
		{"token of another client", other, merchant},
	} {
		hdr := flexitiRef("ref-it")
		if tc.token != "" {
			hdr = flexitiBearer(tc.token, "ref-it")
		}
		status, h, got := send(t, site.URL+tc.path+"?lang=en", "application/json", "", hdr)
		wantFlexitiError(t, tc.name, status, got, http.StatusUnauthorized, tc.path, "invalid_token", "")
		wantFlexitiHeader(t, tc.name, h, "WWW-Authenticate", `Bearer error="invalid_token"*`)
		wantFlexitiHeader(t, tc.name, h, "x-reference-id", "ref-it")
		wantFlexitiHeader(t, tc.name, h, "Deprecation", "@1593561600")
	}
}

// TestFlexitiLoginInsufficientScope: a token with neither merchant nor
// customer scope is 403 insufficient_scope with RFC 6750's challenge.
func TestFlexitiLoginInsufficientScope(t *testing.T) {
	t.Parallel()
	site := flexitiSite(t)
	tok := flexitiStoredToken(t, site, []string{"reports"}, time.Now().Add(time.Hour))
	status, h, got := send(t, site.URL+flexitiLogin, "application/json", "", flexitiBearer(tok, "ref-is"))
	wantFlexitiError(t, "reports scope", status, got, http.StatusForbidden, flexitiLogin, "insufficient_scope", "")
	wantFlexitiHeader(t, "reports scope", h, "WWW-Authenticate", `Bearer error="insufficient_scope"*`)
	wantFlexitiHeader(t, "reports scope", h, "x-reference-id", "ref-is")
}

// TestFlexitiLoginAuthenticationFailure: a wrong merchant password or an
// unknown merchant username is 409 authentication_failure, the same answer.
func TestFlexitiLoginAuthenticationFailure(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	tok := flexitiTokenFor(t, base, "customer")
	var messages []string
	for name, body := range map[string]string{
		"wrong password":   `{"merchant_username": "acmejewellers", "merchant_password": "nope"}`,
		"unknown username": `{"merchant_username": "nobody", "merchant_password": "dice-vanila-purse"}`,
	} {
		status, h, got := send(t, base+flexitiLogin+"?lang=en", "application/json", body, flexitiBearer(tok, "ref-af"))
		wantFlexitiError(t, name, status, got, http.StatusConflict, flexitiLogin, "authentication_failure", "")
		wantFlexitiHeader(t, name, h, "x-reference-id", "ref-af")
		wantFlexitiHeader(t, name, h, "WWW-Authenticate", "")
		msg, _ := got["message"].(string)
		messages = append(messages, msg)
	}
	if messages[0] != messages[1] {
		t.Errorf("an unknown username and a wrong password answer differently: %q", messages)
	}
}

// TestFlexitiLoginThrottled: past the failed-login limit the merchant login
// keeps the core's 429 and Retry-After, with code authentication_failure.
func TestFlexitiLoginThrottled(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	tok := flexitiTokenFor(t, base, "merchant")
	body := `{"merchant_username": "acmejewellers", "merchant_password": "guess"}`
	for i := range 10 { // the core's per-account limit
		if status, _, got := send(t, base+flexitiLogin, "application/json", body, flexitiBearer(tok, "ref-th")); status != http.StatusConflict {
			t.Fatalf("failure %d: %d %v", i+1, status, got)
		}
	}
	status, h, got := send(t, base+flexitiLogin, "application/json", body, flexitiBearer(tok, "ref-th"))
	wantFlexitiError(t, "throttled", status, got, http.StatusTooManyRequests, flexitiLogin, "authentication_failure", "")
	if h.Get("Retry-After") == "" {
		t.Error("throttled: no Retry-After")
	}
	wantFlexitiHeader(t, "throttled", h, "x-reference-id", "ref-th")
}

// TestFlexitiLoginWrongInputs: input errors naming their parameter are 409
// wrong_inputs with field_errors (never echoing a submitted value); others
// are 409 wrong_inputs alone.
func TestFlexitiLoginWrongInputs(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	tok := flexitiTokenFor(t, base, "merchant")
	for _, tc := range []struct{ name, query, body, param string }{
		{"password missing", "", `{"merchant_username": "acmejewellers"}`, "merchant_password"},
		{"username missing", "", `{"merchant_password": "dice-vanila-purse"}`, "merchant_username"},
		{"password repeated", "", `{"merchant_username": "acmejewellers", "merchant_password": "a", "merchant_password": "dice-vanila-purse"}`, "merchant_password"},
		{"unsupported lang", "?lang=de", "", "lang"},
		{"broken JSON", "", `{"merchant_username": `, ""},
	} {
		status, h, got := send(t, base+flexitiLogin+tc.query, "application/json", tc.body, flexitiBearer(tok, "ref-li"))
		wantFlexitiError(t, tc.name, status, got, http.StatusConflict, flexitiLogin, "wrong_inputs", tc.param)
		wantFlexitiHeader(t, tc.name, h, "x-reference-id", "ref-li")
		if msg, _ := got["message"].(string); strings.Contains(msg, "dice-vanila-purse") {
			t.Errorf("%s: the answer echoes the password: %v", tc.name, got)
		}
	}
}

// TestFlexitiLoginReferenceID: the merchant login needs x-reference-id too:
// 400 invalid_request, still marked deprecated.
func TestFlexitiLoginReferenceID(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	tok := flexitiTokenFor(t, base, "merchant")
	for name, id := range map[string]string{"missing": "", "65 characters": strings.Repeat("r", 65)} {
		hdr := map[string]string{"Authorization": "Bearer " + tok}
		if id != "" {
			hdr["x-reference-id"] = id
		}
		status, h, got := send(t, base+flexitiLogin+"?lang=en", "application/json", "", hdr)
		wantFlexitiError(t, name, status, got, http.StatusBadRequest, flexitiLogin, "invalid_request", "")
		wantFlexitiHeader(t, name, h, "Deprecation", "@1593561600")
	}
}

// TestFlexitiLoginUnavailable keeps 503 temporarily_unavailable and its
// Retry-After when the database fails.
func TestFlexitiLoginUnavailable(t *testing.T) {
	t.Parallel()
	site := flexitiSite(t)
	tok, _ := site.Keys.NewToken(secrets.AccessTokenKind) // well-formed, so the core looks it up
	site.Store.Close()
	status, h, got := send(t, site.URL+flexitiLogin, "application/json", "", flexitiBearer(tok, "ref-lu"))
	wantFlexitiError(t, "database down", status, got, http.StatusServiceUnavailable, flexitiLogin, "temporarily_unavailable", "")
	wantFlexitiHeader(t, "database down", h, "Retry-After", "1")
	wantFlexitiHeader(t, "database down", h, "x-reference-id", "ref-lu")
}

// TestFlexitiLoginLangIgnoresCase: EN and Fr pick English and French.
func TestFlexitiLoginLangIgnoresCase(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	tok := flexitiTokenFor(t, base, "customer")
	province := func(got map[string]any) any {
		fv, _ := got["form_values"].(map[string]any)
		p, _ := fv["province"].(map[string]any)
		o, _ := p["options"].(map[string]any)
		return o["QC"]
	}
	for lang, qc := range map[string]string{"EN": "Quebec", "Fr": "Québec", "fR": "Québec"} {
		status, _, got := send(t, base+flexitiLogin+"?lang="+lang, "application/json", flexitiLoginBody, flexitiBearer(tok, "ref-lc"))
		if status != http.StatusOK || got["merchant_id"] != "123456" || province(got) != qc {
			t.Errorf("lang=%s: %d, QC = %v, want %q", lang, status, province(got), qc)
		}
	}
}
