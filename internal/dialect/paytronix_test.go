package dialect_test

import (
	"net/http"
	"strings"
	"testing"
)

// The seed's example request bodies, byte for byte (seed 000).
const paytronixPasswordBody = `{
"authentication": "anonymous",
"client_id": "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK",
"client_secret": "654secretnx4",
"merchantId": 777777,
"grant_type": "password",
"scope": "user_read user_write account_read account_write",
"username": "johndoe",
"password": "open456"
}`

const paytronixRefreshBody = `{
"authentication": "anonymous",
"client_id": "3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK",
"client_secret": "654secretnx4",
"merchantId": 777777,
"grant_type": "refresh_token",
"scope": "user_read user_write account_read account_write",
"refresh_token": "r9vsdS4LUlnotarealrefreshtokenp9JrsJ8cb"
}`

const paytronixScopes = "user_read user_write account_read account_write"

func TestPaytronixSeedExamples(t *testing.T) {
	base := newDemo(t)
	for _, path := range []string{"/oauth/requestGuestToken.json", "/rest/20.4/oauth/requestGuestToken.json"} {
		status, h, got := send(t, base+path, "application/json", paytronixPasswordBody, nil)
		if status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s password: %d %v", path, status, got)
		}
		want(t, "password grant", got, map[string]any{"result": "success", "access_token": "*", "expires_in": float64(1800),
			"refresh_token": "*", "scope": paytronixScopes, "token_type": "bearer", "username": "johndoe", "printedCardNumber": nil})

		body := strings.Replace(paytronixRefreshBody, "r9vsdS4LUlnotarealrefreshtokenp9JrsJ8cb", got["refresh_token"].(string), 1)
		status, _, got = send(t, base+path, "application/json", body, nil)
		if status != http.StatusOK {
			t.Fatalf("%s refresh: %d %v", path, status, got)
		}
		want(t, "refresh grant", got, map[string]any{"result": "success", "access_token": "*", "expires_in": float64(1800),
			"printedCardNumber": "6000986775", "refresh_token": "*", "scope": paytronixScopes, "token_type": "bearer", "username": "johndoe"})
	}
}

// TestPaytronixGuestSSO follows seed 001: the guest website redirect, then
// requestGuestToken with the authorization code.
func TestPaytronixGuestSSO(t *testing.T) {
	base := newDemo(t)
	start := base + "/guest/accountlogin?response_type=code&client_id=awesomesite&redirect_uri=https%3A%2F%2Fwww.myawesomewebsite.com%2Flogin"
	u, _ := browse(t, base, start+"&state=abc", "johndoe", "open456", "")
	q := u.Query()
	if u.Host != "www.myawesomewebsite.com" || u.Path != "/login" || q.Get("code") == "" || q.Get("expires_in") != "300" || q.Get("state") != "abc" {
		t.Fatalf("redirect %s", u)
	}
	noState, _ := browse(t, base, start, "johndoe", "open456", "")
	if _, has := noState.Query()["state"]; has {
		t.Fatalf("state was added although none was given: %s", noState)
	}
	body := `{
"authentication": "anonymous",
"client_id": "awesomesite",
"client_secret": "awesomesite-demo-secret",
"merchantId": 777777,
"grant_type": "authorization_code",
"code": "` + q.Get("code") + `",
"redirect_uri": "https://www.myawesomewebsite.com/login"
}`
	status, _, got := send(t, base+"/oauth/requestGuestToken.json", "application/json", body, nil)
	if status != http.StatusOK {
		t.Fatalf("code grant: %d %v", status, got)
	}
	want(t, "code grant", got, map[string]any{"result": "success", "access_token": "*", "refresh_token": "*",
		"username": "johndoe", "expires_in": float64(1800), "token_type": "bearer"})
	// The same code again: a replay.
	status, _, got = send(t, base+"/oauth/requestGuestToken.json", "application/json", body, nil)
	if status != http.StatusBadRequest {
		t.Fatalf("replayed code: %d %v", status, got)
	}
	want(t, "replayed code", got, map[string]any{"result": "failure", "errorCode": "invalid_grant", "errorMessage": "*"})
}

func TestPaytronixFailures(t *testing.T) {
	base := newDemo(t)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"wrong merchantId", strings.Replace(paytronixPasswordBody, "777777", "123456", 1), 400, "invalid_request"},
		{"merchantId as string", strings.Replace(paytronixPasswordBody, "777777", `"777777"`, 1), 200, ""},
		{"authentication other than anonymous", strings.Replace(paytronixPasswordBody, `"anonymous"`, `"oauth"`, 1), 400, "invalid_request"},
		{"wrong secret", strings.Replace(paytronixPasswordBody, "654secretnx4", "654secretnx5", 1), 401, "invalid_client"},
		{"wrong password", strings.Replace(paytronixPasswordBody, "open456", "open457", 1), 400, "invalid_grant"},
		{"unknown refresh token", paytronixRefreshBody, 400, "invalid_grant"},
		{"malformed JSON", `{"grant_type":`, 400, "invalid_request"},
	} {
		status, _, got := send(t, base+"/oauth/requestGuestToken.json", "application/json", tc.body, nil)
		if status != tc.status {
			t.Errorf("%s: status %d %v, want %d", tc.name, status, got, tc.status)
			continue
		}
		if tc.code != "" {
			want(t, tc.name, got, map[string]any{"result": "failure", "errorCode": tc.code, "errorMessage": "*"})
			if msg, _ := got["errorMessage"].(string); !strings.HasSuffix(msg, ".") || strings.ToUpper(msg[:1]) != msg[:1] {
				t.Errorf("%s: errorMessage %q is not a sentence", tc.name, msg)
			}
		}
	}
}
