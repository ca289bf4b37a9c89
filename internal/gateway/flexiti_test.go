package gateway_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// flexitiCall sends a request through w's gateway and returns the status,
// the headers and the decoded body; it fails the test if the request
// reached the upstream, since every call here must be refused.
func flexitiCall(t *testing.T, w *world, method, pathAndQuery, token string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, w.gateway+pathAndQuery, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: the body is not a JSON object: %v", method, pathAndQuery, err)
	}
	select {
	case <-w.forwarded:
		t.Errorf("%s %s reached the upstream", method, pathAndQuery)
	default:
	}
	return resp.StatusCode, resp.Header, m
}

// wantFlexitiShape checks a gateway refusal in Flexiti's error shape:
// status, code, url (the request path, without the query), message and
// error_description the same sentence, nothing else, and RFC 6750's
// challenge when challenge is set.
func wantFlexitiShape(t *testing.T, what string, status int, h http.Header, got map[string]any, wantStatus int, path, code string, challenge bool) {
	t.Helper()
	msg, _ := got["message"].(string)
	if status != wantStatus || got["error"] != code || got["url"] != path || msg == "" || got["error_description"] != msg {
		t.Errorf("%s: %d %v, want %d {url: %s, error: %s, message = error_description}", what, status, got, wantStatus, path, code)
	}
	for k := range got {
		if !slices.Contains([]string{"url", "message", "error", "error_description"}, k) {
			t.Errorf("%s: unexpected field %s in %v", what, k, got)
		}
	}
	if wwwAuth := h.Get("WWW-Authenticate"); challenge && !strings.HasPrefix(wwwAuth, `Bearer error="`+code+`"`) {
		t.Errorf("%s: WWW-Authenticate %q, want RFC 6750's challenge for %s", what, wwwAuth, code)
	}
}

// TestFlexitiGatewayErrorShape: a rule file with dialect: flexiti answers
// its refusals in Flexiti's shape and statuses, with either verifier.
func TestFlexitiGatewayErrorShape(t *testing.T) {
	for _, remote := range []bool{false, true} {
		t.Run(map[bool]string{false: "shared database", true: "introspection"}[remote], func(t *testing.T) {
			testFlexitiGatewayErrorShape(t, remote)
		})
	}
}

func testFlexitiGatewayErrorShape(t *testing.T, remote bool) {
	w := newWorld(t, "../../examples/flexiti-gateway.yaml", remote)
	customer := w.token("customer")
	merchant := w.token("merchant")

	const reports = "/flexiti/pos-api/v2.5/reports/daily"
	for name, tok := range map[string]string{"unknown": "lk_at_nope", "none": ""} {
		status, h, got := flexitiCall(t, w, "GET", reports, tok)
		wantFlexitiShape(t, name+" token", status, h, got, http.StatusUnauthorized, reports, "invalid_token", true)
	}

	const orders = "/flexiti/pos-api/v2.5/client-id/flexitidemo/orders"
	status, h, got := flexitiCall(t, w, "POST", orders, customer)
	wantFlexitiShape(t, "customer token on a merchant-only route", status, h, got, http.StatusForbidden, orders, "insufficient_scope", true)

	// A token in the query string stays RFC 6750's 400 invalid_request, and
	// url leaves the query (and so the token) out.
	status, h, got = flexitiCall(t, w, "GET", reports+"?access_token="+customer, "")
	wantFlexitiShape(t, "token in the query string", status, h, got, http.StatusBadRequest, reports, "invalid_request", false)

	// Another client's path, and a route no rule matches.
	const foreign = "/flexiti/pos-api/v2.5/client-id/someone-else/apply"
	status, h, got = flexitiCall(t, w, "POST", foreign, merchant)
	wantFlexitiShape(t, "another client's path", status, h, got, http.StatusForbidden, foreign, "insufficient_scope", true)
	status, h, got = flexitiCall(t, w, "GET", "/admin", merchant)
	wantFlexitiShape(t, "unmatched route", status, h, got, http.StatusForbidden, "/admin", "access_denied", false)

	// An upstream that does not answer: 502 in the same shape.
	w.upstream.Close()
	status, h, got = flexitiCall(t, w, "POST", orders, merchant)
	wantFlexitiShape(t, "upstream down", status, h, got, http.StatusBadGateway, orders, "server_error", false)
}
