// Package paytronix is the Paytronix dialect: the guest token service
// (requestGuestToken.json) and the guest website login redirect.
package paytronix

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/web"
)

// Routes registers the dialect's endpoints.
func Routes(mux *http.ServeMux, core *oauth.Server, pages *web.Handler) {
	token := tokenHandler(core)
	mux.HandleFunc("POST /oauth/requestGuestToken.json", token)
	mux.HandleFunc("POST /rest/{version}/oauth/requestGuestToken.json", token)
	login := func(w http.ResponseWriter, r *http.Request) {
		pages.AuthorizeWith(w, r, "/guest/accountlogin", func(req *oauth.AuthorizeRequest) { req.AnnounceCodeTTL = true })
	}
	mux.HandleFunc("GET /guest/accountlogin", login)
	mux.HandleFunc("POST /guest/accountlogin", login)
}

// success is the seed's success body, fields in its order.
type success struct {
	Result            string `json:"result"`
	AccessToken       string `json:"access_token"`
	ExpiresIn         int64  `json:"expires_in,omitempty"`
	PrintedCardNumber string `json:"printedCardNumber,omitempty"`
	RefreshToken      string `json:"refresh_token,omitempty"`
	Scope             string `json:"scope"`
	TokenType         string `json:"token_type"`
	Username          string `json:"username,omitempty"`
}

// failure is the seed's failure body.
type failure struct {
	Result       string `json:"result"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

func tokenHandler(core *oauth.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, req, oerr := oauth.ReadTokenRequest(w, r)
		if oerr != nil {
			WriteError(w, oerr)
			return
		}
		if a := p.Get("authentication"); a != "" && a != "anonymous" {
			WriteError(w, &oauth.Error{Code: oauth.ErrInvalidRequest, Status: http.StatusBadRequest,
				Description: "authentication must be anonymous for requestGuestToken"})
			return
		}
		req.MerchantID = p.Get("merchantId")
		res, oerr := core.Token(r.Context(), req)
		if oerr != nil {
			WriteError(w, oerr)
			return
		}
		out := success{Result: "success", AccessToken: res.AccessToken, ExpiresIn: res.ExpiresInSeconds(),
			RefreshToken: res.RefreshToken, Scope: strings.Join(res.Scopes, " "), TokenType: "bearer"}
		if res.Account != nil {
			out.Username = res.Account.Username
			if req.GrantType == oauth.GrantRefreshToken {
				out.PrintedCardNumber = res.Account.PrintedCardNumber
			}
		}
		write(w, http.StatusOK, out)
	}
}

// WriteError writes a core error in the dialect's failure shape, with the RFC's status.
func WriteError(w http.ResponseWriter, e *oauth.Error) {
	oauth.SetErrorHeaders(w, e)
	write(w, e.Status, failure{Result: "failure", ErrorCode: e.Code, ErrorMessage: sentence(e.Description)})
}

// WriteInvalidToken answers a protected call made with an expired or unknown token.
func WriteInvalidToken(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	write(w, http.StatusUnauthorized, failure{Result: "failure", ErrorCode: oauth.ErrInvalidToken,
		ErrorMessage: "The access token is invalid or has expired."})
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// sentence turns a core description into the human sentence the seed's errorMessage holds.
func sentence(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	if b[len(b)-1] != '.' {
		b = append(b, '.')
	}
	return string(b)
}
