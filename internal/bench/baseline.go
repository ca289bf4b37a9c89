package bench

import (
	"net/http"
	"strings"
)

// baselineBody is a fixed token answer of about 200 bytes.
var baselineBody = []byte(`{"access_token":"lk_at_` + strings.Repeat("x", 54) + `","token_type":"Bearer","expires_in":1200,"refresh_token":"lk_rt_` + strings.Repeat("y", 54) + `","scope":"merchant"}`)

// Baseline is the physical limit of the HTTP stack here: it parses the
// form, as a token endpoint must, and answers a fixed token.
func Baseline() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(baselineBody)
	})
}
