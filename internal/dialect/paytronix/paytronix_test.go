package paytronix

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteInvalidToken(t *testing.T) {
	w := httptest.NewRecorder()
	WriteInvalidToken(w)
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusUnauthorized || got["result"] != "failure" || got["errorCode"] != "invalid_token" || got["errorMessage"] == "" {
		t.Fatalf("%d %v", w.Code, got)
	}
}
