package respond

import (
	"net/http/httptest"
	"testing"
)

func TestBearerChallengeQuotes(t *testing.T) {
	for _, tc := range []struct{ desc, want string }{
		{"plain words", `Bearer error="invalid_token", error_description="plain words"`},
		{`say "hi" \ bye`, `Bearer error="invalid_token", error_description="say \"hi\" \\ bye"`},
		{"line\r\nbreak", `Bearer error="invalid_token", error_description="linebreak"`},
	} {
		w := httptest.NewRecorder()
		BearerChallenge(w, "invalid_token", tc.desc)
		if got := w.Header().Get("WWW-Authenticate"); got != tc.want {
			t.Errorf("challenge for %q = %s, want %s", tc.desc, got, tc.want)
		}
	}
}

func TestJSONIsNotStored(t *testing.T) {
	w := httptest.NewRecorder()
	JSON(w, 418, map[string]string{"a": "b"})
	if w.Code != 418 || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" ||
		w.Header().Get("Content-Type") != "application/json" || w.Body.String() != "{\"a\":\"b\"}\n" {
		t.Errorf("JSON wrote %d %v %q", w.Code, w.Header(), w.Body.String())
	}
}
