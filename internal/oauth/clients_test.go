package oauth

import (
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

func TestValidateClient(t *testing.T) {
	good := storage.Client{ID: "app", SecretHash: "h", GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken},
		Scopes: []string{"a", "b"}, DefaultScopes: []string{"a"}, MerchantID: "m", AccountKind: storage.Guest,
		RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1:8080/callback", "com.example.app:/cb"}}
	if err := ValidateClient(good, []string{"paytronix"}); err != nil {
		t.Fatalf("good client: %v", err)
	}
	cases := map[string]func(*storage.Client){
		"client id":            func(c *storage.Client) { c.ID = "a b" },
		"no grant type":        func(c *storage.Client) { c.GrantTypes = nil },
		`"implicit"`:           func(c *storage.Client) { c.GrantTypes = []string{"implicit"} },
		"public client":        func(c *storage.Client) { c.SecretHash, c.GrantTypes = "", []string{GrantClientCredentials} },
		`default scope "c"`:    func(c *storage.Client) { c.DefaultScopes = []string{"c"} },
		`scope "a\"b"`:         func(c *storage.Client) { c.Scopes = []string{`a"b`} },
		"must use https":       func(c *storage.Client) { c.RedirectURIs = []string{"http://app.example/cb"} },
		"fragment":             func(c *storage.Client) { c.RedirectURIs = []string{"https://app.example/cb#x"} },
		"absolute":             func(c *storage.Client) { c.RedirectURIs = []string{"/cb"} },
		"user information":     func(c *storage.Client) { c.RedirectURIs = []string{"https://u:p@app.example/cb"} },
		"reverse-domain":       func(c *storage.Client) { c.RedirectURIs = []string{"myapp:/cb"} },
		"negative":             func(c *storage.Client) { c.AccessTokenTTL = -1 },
		"bound to a merchant":  func(c *storage.Client) { c.MerchantID = "" },
		`format "paseto"`:      func(c *storage.Client) { c.AccessTokenFormat = "paseto" },
		`dialect "acme"`:       func(c *storage.Client) { c.Dialect = "acme" },
		`account kind "robot"`: func(c *storage.Client) { c.AccountKind = "robot" },
	}
	for want, edit := range cases {
		c := good
		c.RedirectURIs = append([]string(nil), good.RedirectURIs...)
		edit(&c)
		if err := ValidateClient(c, []string{"paytronix"}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}
