package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// TestPasswordCheckHookIsWired: serve raises its memory limit through
// oauth.Config.OnPasswordCheck (cmd/latchkey/gc.go); New must hand the hook
// both to the token endpoint's password checks and to the admin API's
// password hashing, each call with true matched by one with false.
func TestPasswordCheckHookIsWired(t *testing.T) {
	var mu sync.Mutex
	var started, ended int
	hook := func(running bool) {
		mu.Lock()
		defer mu.Unlock()
		if running {
			started++
		} else {
			ended++
		}
	}
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return started, ended
	}
	ts := demoServer(t, sqlstore.Options{}, Options{Issuer: "http://hook", OAuth: oauth.Config{OnPasswordCheck: hook}})
	post := func(path, user, pass, contentType, body, bearer string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		} else {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	form := "application/x-www-form-urlencoded"

	login := url.Values{"grant_type": {"password"}, "username": {"acmejewellers"}, "password": {"dice-vanila-purse"}}.Encode()
	if code, m := post("/oauth2/token", "flexitidemo", "77xde15a-9d33-4c15-930a-3se4b3as33e9", form, login, ""); code != 200 {
		t.Fatalf("password login: %d %v", code, m)
	}
	if s, e := counts(); s < 1 || s != e {
		t.Fatalf("after a password login the hook saw %d starts and %d ends; want at least 1, matched", s, e)
	}
	afterLogin, _ := counts()

	code, m := post("/oauth2/token", "demo-admin", "demo-admin-secret", form, "grant_type=client_credentials", "")
	admin, _ := m["access_token"].(string)
	if code != 200 || admin == "" {
		t.Fatalf("admin token: %d %v", code, m)
	}
	account := `{"kind":"guest","username":"hooked","merchant_id":"777777","password":"hooked-password-42"}`
	if code, m := post("/admin/v1/accounts", "", "", "application/json", account, admin); code != 201 {
		t.Fatalf("create an account with a password: %d %v", code, m)
	}
	if s, e := counts(); s <= afterLogin || s != e {
		t.Fatalf("after an admin password hash the hook saw %d starts and %d ends (%d after the login); want more, matched", s, e, afterLogin)
	}
}
