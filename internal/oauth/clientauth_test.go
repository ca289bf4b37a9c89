package oauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestReadClientCredentialsAgreeing: Basic plus body credentials are two
// authentications on the standard endpoints, and one on endpoints that
// accept agreeing ones, where any disagreement fails authentication.
func TestReadClientCredentialsAgreeing(t *testing.T) {
	lenient := ReadOptions{AgreeingCredentials: true}
	for _, tc := range []struct {
		name     string
		o        ReadOptions
		body     Params
		wantCode string // "" for success
	}{
		{"standard, secret in both", ReadOptions{}, Params{"client_id": "app", "client_secret": "s3cret"}, ErrInvalidRequest},
		{"standard, id in both", ReadOptions{}, Params{"client_id": "app"}, ""},
		{"standard, other id in body", ReadOptions{}, Params{"client_id": "other"}, ErrInvalidRequest},
		{"agreeing, same id and secret", lenient, Params{"client_id": "app", "client_secret": "s3cret"}, ""},
		{"agreeing, same secret only", lenient, Params{"client_secret": "s3cret"}, ""},
		{"agreeing, other secret", lenient, Params{"client_id": "app", "client_secret": "other"}, ErrInvalidClient},
		{"agreeing, other id", lenient, Params{"client_id": "other", "client_secret": "s3cret"}, ErrInvalidClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/token", nil)
			r.SetBasicAuth("app", "s3cret")
			cr, err := ReadClientCredentials(r, tc.body, tc.o)
			switch {
			case tc.wantCode == "" && (err != nil || cr != ClientCredentials{ID: "app", Secret: "s3cret", Method: AuthBasic}):
				t.Fatalf("got %+v, %v; want the Basic credentials", cr, err)
			case tc.wantCode != "" && (err == nil || err.Code != tc.wantCode):
				t.Fatalf("got %+v, %v; want %s", cr, err, tc.wantCode)
			case tc.wantCode == ErrInvalidClient && !err.BasicChallenge:
				t.Fatal("invalid_client after HTTP Basic without a Basic challenge")
			}
		})
	}
}
