package dialect_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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

const flexitiToken = "/flexiti/pos-api/v2.5/oauth/token"

func flexitiTokenFor(t *testing.T, base, scope string) string {
	t.Helper()
	form := url.Values{"client_id": {"flexitidemo"}, "client_secret": {"77xde15a-9d33-4c15-930a-3se4b3as33e9"}, "scope": {scope}}
	status, _, got := send(t, base+flexitiToken, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"x-reference-id": "ref-1"})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, got)
	}
	return got["access_token"].(string)
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
	form.Set("refresh_token", got["refresh_token"].(string))
	status, _, got = send(t, base+flexitiToken, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"x-reference-id": ref})
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, got)
	}
	want(t, "refresh", got, map[string]any{"token_type": "bearer", "scope": "merchant", "refresh_token": "*"})
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

func TestFlexitiFailures(t *testing.T) {
	base := newDemo(t)
	ok := map[string]string{"x-reference-id": "ref"}
	for _, tc := range []struct {
		name, body string
		headers    map[string]string
		status     int
		code       string
	}{
		{"missing x-reference-id", flexitiTokenBody, nil, 400, "invalid_request"},
		{"x-reference-id too long", flexitiTokenBody, map[string]string{"x-reference-id": strings.Repeat("r", 65)}, 400, "invalid_request"},
		{"wrong secret", strings.Replace(flexitiTokenBody, "77xde15a", "88xde15a", 1), ok, 401, "invalid_client"},
		{"unknown scope", strings.Replace(flexitiTokenBody, `"merchant"`, `"admin"`, 1), ok, 400, "invalid_scope"},
		{"unsupported grant", strings.Replace(flexitiTokenBody, "client_credentials", "implicit", 1), ok, 400, "unsupported_grant_type"},
	} {
		status, _, got := send(t, base+flexitiToken, "application/json", tc.body, tc.headers)
		if status != tc.status || got["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, got, tc.status, tc.code)
		}
	}
	login := base + "/flexiti/pos-api/v2.5/client-id/flexitidemo/merchants/login"
	merchant := flexitiTokenFor(t, base, "merchant")
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
		code                    string
	}{
		{"no token", login, "", "", 401, "invalid_token"},
		{"unknown token", login, "lk_at_unknown", "", 401, "invalid_token"},
		{"token of another client", strings.Replace(login, "flexitidemo", "test_client", 1), merchant, "", 401, "invalid_token"},
		{"wrong merchant password", login, merchant, `{"merchant_username":"acmejewellers","merchant_password":"nope"}`, 400, "invalid_grant"},
		{"unknown language", login + "?lang=de", merchant, "", 400, "invalid_request"},
	} {
		hdr := map[string]string{"x-reference-id": "ref"}
		if tc.token != "" {
			hdr["Authorization"] = "Bearer " + tc.token
		}
		status, h, got := send(t, tc.path, "application/json", tc.body, hdr)
		if status != tc.status || got["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, got, tc.status, tc.code)
		}
		if tc.code == "invalid_token" && !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, h.Get("WWW-Authenticate"))
		}
	}
}
