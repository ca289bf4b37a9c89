package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestErrors sends one bad request per error code and checks status, error and headers.
func TestErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		// A failed redemption uses its code up, so each case has its own.
		code, code2 := e.code(guestApp, "", ""), e.code(guestApp, "", "")
		cases := []struct {
			name       string
			form       url.Values
			user, pass string
			header     map[string]string
			body       string // raw body instead of form
			ctype      string
			status     int
			err        string
			wantHeader map[string]string
			descHas    string
		}{
			{name: "missing grant_type", form: url.Values{}, user: confID, pass: confSecret,
				status: 400, err: "invalid_request", descHas: "grant_type"},
			{name: "duplicate parameter", body: "grant_type=client_credentials&grant_type=password", user: confID, pass: confSecret,
				status: 400, err: "invalid_request", descHas: `"grant_type"`},
			{name: "malformed JSON", body: `{"grant_type":`, ctype: "application/json", user: confID, pass: confSecret,
				status: 400, err: "invalid_request", descHas: "JSON"},
			{name: "nested JSON value", body: `{"grant_type":["client_credentials"]}`, ctype: "application/json", user: confID, pass: confSecret,
				status: 400, err: "invalid_request", descHas: `"grant_type"`},
			{name: "unsupported content type", body: "x", ctype: "text/plain", user: confID, pass: confSecret,
				status: 400, err: "invalid_request", descHas: "Content-Type"},
			{name: "body too large", body: "grant_type=client_credentials&scope=" + strings.Repeat("a", 70<<10), user: confID, pass: confSecret,
				status: 413, err: "invalid_request", descHas: "larger"},
			{name: "password grant without username", form: url.Values{"grant_type": {"password"}, "password": {"x"}},
				user: guestApp, pass: guestSec, status: 400, err: "invalid_request", descHas: "username"},
			{name: "two auth methods", form: url.Values{"grant_type": {"client_credentials"}, "client_secret": {confSecret}},
				user: confID, pass: confSecret, status: 400, err: "invalid_request", descHas: "twice"},
			{name: "wrong secret over basic", form: url.Values{"grant_type": {"client_credentials"}}, user: confID, pass: "nope",
				status: 401, err: "invalid_client", wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="latchkey", charset="UTF-8"`}},
			{name: "unknown client in body", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"ghost"}, "client_secret": {"x"}},
				status: 401, err: "invalid_client", wantHeader: map[string]string{"WWW-Authenticate": ""}},
			{name: "confidential client without secret", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {confID}},
				status: 401, err: "invalid_client"},
			{name: "no client at all", form: url.Values{"grant_type": {"client_credentials"}}, status: 401, err: "invalid_client"},
			{name: "wrong password", form: url.Values{"grant_type": {"password"}, "username": {guestUser}, "password": {"nope"}},
				user: guestApp, pass: guestSec, status: 400, err: "invalid_grant", descHas: "username or password"},
			{name: "unknown user same error", form: url.Values{"grant_type": {"password"}, "username": {"ghost"}, "password": {"nope"}},
				user: guestApp, pass: guestSec, status: 400, err: "invalid_grant", descHas: "username or password"},
			{name: "garbage refresh token", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"lk_rt_garbage"}},
				user: guestApp, pass: guestSec, status: 400, err: "invalid_grant"},
			{name: "code of another client", form: url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}},
				user: nograceApp, pass: nograSec, status: 400, err: "invalid_grant", descHas: "another client"},
			{name: "redirect_uri mismatch", form: url.Values{"grant_type": {"authorization_code"}, "code": {code2}, "redirect_uri": {redirectURI + "/x"}},
				user: guestApp, pass: guestSec, status: 400, err: "invalid_grant", descHas: "redirect_uri"},
			{name: "grant not allowed", form: url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}},
				user: confID, pass: confSecret, status: 400, err: "unauthorized_client"},
			{name: "public client client_credentials", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {publicApp}},
				status: 400, err: "unauthorized_client"},
			{name: "unknown grant", form: url.Values{"grant_type": {"implicit"}}, user: confID, pass: confSecret,
				status: 400, err: "unsupported_grant_type"},
			{name: "scope not allowed", form: url.Values{"grant_type": {"client_credentials"}, "scope": {"user_read admin"}},
				user: confID, pass: confSecret, status: 400, err: "invalid_scope", descHas: `"admin"`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				body := tc.body
				if body == "" {
					body = tc.form.Encode()
				}
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth2/token", strings.NewReader(body))
				ct := tc.ctype
				if ct == "" {
					ct = "application/x-www-form-urlencoded"
				}
				req.Header.Set("Content-Type", ct)
				if tc.user != "" {
					req.SetBasicAuth(tc.user, tc.pass)
				}
				status, h, m := e.do(req)
				if status != tc.status || m["error"] != tc.err {
					t.Fatalf("got %d %v, want %d %s", status, m, tc.status, tc.err)
				}
				if desc, _ := m["error_description"].(string); !strings.Contains(desc, tc.descHas) {
					t.Fatalf("error_description %q does not mention %q", desc, tc.descHas)
				}
				if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
					t.Fatalf("error without no-store headers: %v", h)
				}
				for k, v := range tc.wantHeader {
					if h.Get(k) != v {
						t.Fatalf("header %s = %q, want %q", k, h.Get(k), v)
					}
				}
			})
		}
	})
}
