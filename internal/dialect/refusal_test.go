package dialect_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestRefusalsInTheDialectsShape: what the server refuses before a handler
// runs (a method other than POST, a compressed body, a body declared over
// the server's 1 MiB cap) is answered on a
// dialect's endpoint in that dialect's error shape, and on the standard
// endpoint in RFC 6749's.
func TestRefusalsInTheDialectsShape(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	for _, tc := range []struct {
		name, path string
		fields     []string // the exact keys of the error body
		code       func(map[string]any) any
	}{
		{"flexiti token", flexitiToken, []string{"url", "message", "error", "error_description"},
			func(m map[string]any) any { return m["error"] }},
		{"flexiti merchant login", flexitiLogin, []string{"url", "message", "error", "error_description"},
			func(m map[string]any) any { return m["error"] }},
		{"paytronix", "/oauth/requestGuestToken.json", []string{"result", "errorCode", "errorMessage"},
			func(m map[string]any) any { return m["errorCode"] }},
		{"paytronix versioned", "/rest/16.1/oauth/requestGuestToken.json", []string{"result", "errorCode", "errorMessage"},
			func(m map[string]any) any { return m["errorCode"] }},
		{"aston", "/v1/token", []string{"error", "error_description"},
			func(m map[string]any) any { return m["error"] }},
		{"standard", "/oauth2/token", []string{"error", "error_description"},
			func(m map[string]any) any { return m["error"] }},
	} {
		for _, r := range []struct {
			what, method, encoding string
			status                 int
		}{
			{"GET", http.MethodGet, "", http.StatusMethodNotAllowed},
			{"PUT", http.MethodPut, "", http.StatusMethodNotAllowed},
			{"gzip body", http.MethodPost, "gzip", http.StatusUnsupportedMediaType},
			{"oversized body", http.MethodPost, "", http.StatusRequestEntityTooLarge},
		} {
			what := tc.name + ", " + r.what
			body := "grant_type=client_credentials"
			if r.status == http.StatusRequestEntityTooLarge {
				body += "&pad=" + strings.Repeat("x", 1<<20)
			}
			req, _ := http.NewRequest(r.method, base+tc.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if r.encoding != "" {
				req.Header.Set("Content-Encoding", r.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Errorf("%s: body is not a JSON object: %q", what, raw)
				continue
			}
			if resp.StatusCode != r.status {
				t.Errorf("%s: status %d, want %d: %s", what, resp.StatusCode, r.status, raw)
			}
			if code := tc.code(got); code != "invalid_request" {
				t.Errorf("%s: error code %v, want invalid_request: %s", what, code, raw)
			}
			if len(got) != len(tc.fields) {
				t.Errorf("%s: body has keys %v, want exactly %v", what, keys(got), tc.fields)
			}
			for _, k := range tc.fields {
				if _, ok := got[k]; !ok {
					t.Errorf("%s: %s missing in %s", what, k, raw)
				}
			}
			if r.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("%s: Allow = %q, want POST", what, resp.Header.Get("Allow"))
			}
		}
	}
}

// TestOversizedBodyAnsweredAlike: a body too large for the endpoint (over
// the core's 64 KiB, read by the endpoint) and one over the server's 1 MiB
// (refused before the endpoint runs) get the same answer on every dialect.
func TestOversizedBodyAnsweredAlike(t *testing.T) {
	t.Parallel()
	base := newDemo(t)
	for _, path := range []string{flexitiToken, flexitiLogin, "/oauth/requestGuestToken.json", "/v1/token", "/oauth2/token"} {
		var answers []string
		for _, size := range []int{100 << 10, 2 << 20} {
			req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader("grant_type=client_credentials&pad="+strings.Repeat("x", size)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("x-reference-id", "ref-big")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("%s, %d bytes: body is not a JSON object: %q", path, size, raw)
			}
			code := got["error"]
			if code == nil {
				code = got["errorCode"]
			}
			answers = append(answers, fmt.Sprint(resp.StatusCode, " ", code, " ", keys(got)))
		}
		if answers[0] != answers[1] || !strings.HasPrefix(answers[0], "413 invalid_request") {
			t.Errorf("%s: a body of 100 KiB answered %q, one of 2 MiB %q; want the same 413 invalid_request", path, answers[0], answers[1])
		}
	}
}

func keys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
