package dialect_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testutil/demoserver"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// newDemo serves the demo data with every dialect on.
func newDemo(t *testing.T) string {
	return demoserver.Start(t, demoserver.Options{Dialects: []string{"paytronix", "flexiti", "aston"}}).URL
}

// send posts body with the given content type and headers; it returns the
// status, headers and the decoded JSON object.
func send(t *testing.T, url, contentType, body string, headers map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("POST %s: body is not a JSON object: %q", url, raw)
	}
	return resp.StatusCode, resp.Header, m
}

// want checks fields of a JSON answer: a value, or "*" for any non-empty string.
func want(t *testing.T, what string, got map[string]any, fields map[string]any) {
	t.Helper()
	for k, v := range fields {
		switch {
		case v == "*":
			if s, _ := got[k].(string); s == "" {
				t.Errorf("%s: %s is missing or empty in %v", what, k, got)
			}
		case v == nil:
			if _, has := got[k]; has {
				t.Errorf("%s: %s should be absent, got %v", what, k, got[k])
			}
		default:
			if got[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", what, k, got[k], v)
			}
		}
	}
}

// browse drives an authorization page flow over HTTP: it logs in, picks
// owner (when a picker shows), allows, and returns the redirect's URL and
// the pages it went through.
func browse(t *testing.T, base, start, user, pass, owner string) (*url.URL, []string) {
	t.Helper()
	a := webtest.NewAgent(t)
	status, h, body := a.Get(start)
	var pages []string
	for range 5 {
		pages = append(pages, body)
		switch {
		case status == http.StatusSeeOther:
			u, err := url.Parse(h.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			return u, pages
		case strings.Contains(body, `<form id="login"`):
			status, h, body = a.Submit(base, body, url.Values{"username": {user}, "password": {pass}})
		case strings.Contains(body, `<form id="select-account"`):
			if owner == "" {
				t.Fatal("an account picker was shown where none was expected")
			}
			status, h, body = a.Submit(base, body, url.Values{"resource_owner": {owner}})
		case strings.Contains(body, `<form id="consent"`):
			status, h, body = a.Submit(base, body, url.Values{"decision": {"allow"}})
		default:
			t.Fatalf("unexpected page (%d):\n%s", status, body)
		}
	}
	t.Fatal("the flow did not end in a redirect")
	return nil, nil
}
