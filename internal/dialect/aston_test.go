package dialect_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The seed's example request bodies, byte for byte (seed 003).
const astonCodeBody = `{
  "grant_type": "authorization_code",
  "code": "abcd1234",
  "client_id": "test_client",
  "redirect_uri": "https://youwebapp.com/oauth",
  "client_secret": "asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj"
}`

const astonRefreshBody = `{
  "grant_type": "refresh_token",
  "refresh_token": "a324cc213e3c2ff25d1e62c6a81463de8f5ff7a2",
  "client_id": "test_client",
  "client_secret": "asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj"
}`

// astonFlow runs an authorization through the seed's example URL and
// returns the code after checking the redirect's shape.
func astonFlow(t *testing.T, base, exampleURL, owner string) string {
	t.Helper()
	start := strings.Replace(exampleURL, "https://auth.astonclub.com.au", base, 1)
	u, pages := browse(t, base, start, "owner@astonclub.example", "correct-horse-battery", owner)
	for _, p := range pages {
		if strings.Contains(p, `<form id="select-account"`) && (strings.Contains(p, `value="o-2001"`) != strings.HasPrefix(owner, "o-")) {
			t.Fatalf("the picker mixes merchants and organizations:\n%s", p)
		}
	}
	q := u.Query()
	if u.Host != "youwebapp.com" || u.Path != "/oauth" || q.Get("grant_type") != "authorization_code" || q.Get("state") != "xyz" || q.Get("code") == "" {
		t.Fatalf("redirect %s", u)
	}
	return q.Get("code")
}

func TestAstonMerchantSeedExample(t *testing.T) {
	base := newDemo(t)
	code := astonFlow(t, base, "https://auth.astonclub.com.au/authorize/merchant?client_id=test_client&response_type=code&redirect_uri=https://youwebapp.com/oauth&scope=posapi&state=xyz", "m-1001")
	status, h, got := send(t, base+"/v1/token", "application/json", strings.Replace(astonCodeBody, "abcd1234", code, 1), nil)
	if status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("code exchange: %d %v", status, got)
	}
	want(t, "code exchange", got, map[string]any{"access_token": "*", "token_type": "bearer", "expires_in": float64(31536000),
		"scope": "posapi", "resource_owner_type": "merchant", "refresh_token": "*"})
	rt := got["refresh_token"].(string)
	for range 2 { // the client keeps its refresh token: it works again
		status, _, got = send(t, base+"/v1/token", "application/json", strings.Replace(astonRefreshBody, "a324cc213e3c2ff25d1e62c6a81463de8f5ff7a2", rt, 1), nil)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, got)
		}
		want(t, "refresh", got, map[string]any{"access_token": "*", "token_type": "bearer", "expires_in": float64(31536000),
			"scope": "posapi", "resource_owner_type": "merchant", "refresh_token": nil})
	}
	// Form bodies work too; a replayed code is refused.
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"test_client"},
		"redirect_uri": {"https://youwebapp.com/oauth"}, "client_secret": {"asdajsjk@#$fjaksbfgjsabglbuwe@#@bfjesbj"}}
	status, _, got = send(t, base+"/v1/token", "application/x-www-form-urlencoded", form.Encode(), nil)
	if status != http.StatusBadRequest || got["error"] != "invalid_grant" {
		t.Fatalf("replayed code: %d %v", status, got)
	}
}

func TestAstonOrganizationSeedExample(t *testing.T) {
	base := newDemo(t)
	// One organization: no picker.
	code := astonFlow(t, base, "https://auth.astonclub.com.au/authorize/organization?client_id=test_client&response_type=code&redirect_uri=https://youwebapp.com/oauth&scope=aston-api:transaction.read%20aston-api:transaction.submit&state=xyz", "")
	status, _, got := send(t, base+"/v1/token", "application/json", strings.Replace(astonCodeBody, "abcd1234", code, 1), nil)
	if status != http.StatusOK {
		t.Fatalf("code exchange: %d %v", status, got)
	}
	want(t, "organization token", got, map[string]any{"resource_owner_type": "organization",
		"scope": "aston-api:transaction.read aston-api:transaction.submit", "expires_in": float64(31536000)})
}

func TestAstonFailures(t *testing.T) {
	base := newDemo(t)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"wrong secret", strings.Replace(astonCodeBody, "asdajsjk@", "xsdajsjk@", 1), 401, "invalid_client"},
		{"unknown code", astonCodeBody, 400, "invalid_grant"},
		{"password grant", `{"grant_type":"password","client_id":"test_client","client_secret":"x","username":"a","password":"b"}`, 400, "unsupported_grant_type"},
	} {
		status, _, got := send(t, base+"/v1/token", "application/json", tc.body, nil)
		if status != tc.status || got["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, got, tc.status, tc.code)
		}
	}
}
