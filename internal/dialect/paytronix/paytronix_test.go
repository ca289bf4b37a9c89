package paytronix

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/oauth"
)

// TestWriteErrorInvalidToken: a protected call with an expired or unknown
// token gets seed 000's 401 failure body.
func TestWriteErrorInvalidToken(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("GET", "/", nil), oauth.InvalidToken("the access token is missing, unknown, expired or revoked"))
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusUnauthorized || got["result"] != "failure" || got["errorCode"] != "invalid_token" ||
		got["errorMessage"] != "The access token is missing, unknown, expired or revoked." {
		t.Fatalf("%d %v", w.Code, got)
	}
}
