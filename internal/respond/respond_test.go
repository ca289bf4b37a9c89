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

func TestBearerScopeChallenge(t *testing.T) {
	for _, tc := range []struct{ code, desc, want string }{
		{"", "", `Bearer scope="latchkey:admin"`},
		{"insufficient_scope", `needs "latchkey:admin"`, `Bearer error="insufficient_scope", error_description="needs \"latchkey:admin\"", scope="latchkey:admin"`},
	} {
		w := httptest.NewRecorder()
		BearerScopeChallenge(w, tc.code, tc.desc, "latchkey:admin")
		if got := w.Header().Get("WWW-Authenticate"); got != tc.want {
			t.Errorf("challenge for %q = %s, want %s", tc.code, got, tc.want)
		}
	}
}

func TestProblemIsNotStored(t *testing.T) {
	w := httptest.NewRecorder()
	Problem(w, 404, map[string]any{"status": 404})
	if w.Code != 404 || w.Header().Get("Cache-Control") != "no-store" ||
		w.Header().Get("Content-Type") != "application/problem+json" || w.Body.String() != "{\"status\":404}\n" {
		t.Errorf("Problem wrote %d %v %q", w.Code, w.Header(), w.Body.String())
	}
}
