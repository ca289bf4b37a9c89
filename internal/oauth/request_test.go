package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadParamsContentTypes: the two media types are recognised with
// parameters, in any case and with spaces, not only in their exact form;
// anything else is refused by name.
func TestReadParamsContentTypes(t *testing.T) {
	form, json := "grant_type=password&username=a", `{"grant_type":"password","username":"a"}`
	for _, tc := range []struct {
		contentType, body string
		ok                bool
	}{
		{"application/x-www-form-urlencoded", form, true},
		{"application/x-www-form-urlencoded; charset=UTF-8", form, true},
		{"Application/X-WWW-Form-URLEncoded", form, true},
		{"", form, true},
		{"application/json", json, true},
		{"application/json; charset=utf-8", json, true},
		{" APPLICATION/JSON ", json, true},
		{"text/plain", form, false},
		// A JSON object without a Content-Type, or as text/plain, is read as JSON.
		{"", json, true},
		{"", "\r\n  " + json, true},
		{"text/plain", json, true},
		{"text/plain; charset=utf-8", json, true},
		{"application/jsonx", json, false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(tc.body))
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		p, err := ReadParams(httptest.NewRecorder(), r)
		switch {
		case tc.ok && (err != nil || p.Get("grant_type") != "password" || p.Get("username") != "a"):
			t.Errorf("Content-Type %q: %v, %v", tc.contentType, p, err)
		case !tc.ok && (err == nil || !strings.Contains(err.Description, "is not supported")):
			t.Errorf("Content-Type %q accepted or refused unclearly: %v, %v", tc.contentType, p, err)
		}
	}
}
