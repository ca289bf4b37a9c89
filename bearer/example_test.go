package bearer_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/latchkey-dev/latchkey/bearer"
)

// ExampleRequire protects an API route: only tokens with the merchant scope
// get through, and the handler reads who the token acts for.
func ExampleRequire() {
	// Stands in for latchkey's /oauth2/introspect in this example.
	latchkey := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		active := r.PostForm.Get("token") == "lk_at_example"
		json.NewEncoder(w).Encode(map[string]any{"active": active, "scope": "merchant", "client_id": "pos-app", "merchant_id": "123456"})
	}))
	defer latchkey.Close()

	verifier := bearer.NewIntrospector(latchkey.URL, "resource-server", "its-secret", bearer.IntrospectorOptions{})
	api := http.NewServeMux()
	api.Handle("GET /balance", bearer.Require(verifier, "merchant")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		fmt.Fprintf(w, "balance of merchant %s, asked by %s", claims.MerchantID, claims.ClientID)
	})))
	srv := httptest.NewServer(api)
	defer srv.Close()

	for _, token := range []string{"lk_at_example", "lk_at_forged"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/balance", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body = []byte(resp.Header.Get("WWW-Authenticate"))
		}
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 balance of merchant 123456, asked by pos-app
	// 401 Bearer error="invalid_token", error_description="the access token is missing, unknown, expired or revoked"
}
