// Package paytronix is the Paytronix dialect: the guest token service
// (requestGuestToken.json) and the guest website login redirect.
package paytronix

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
)

// LoginPath is the guest website login: the authorization page of seed 001.
const LoginPath = "/guest/accountlogin"

// LoginProfile tells the integration how long the code lives, in the
// redirect (redirect_uri?code=…&expires_in=300&state=…).
var LoginProfile = oauth.AuthorizeProfile{
	RedirectParams: map[string]string{"expires_in": strconv.Itoa(int(oauth.CodeTTL.Seconds()))},
}

// Routes registers the dialect's token endpoints.
func Routes(mux oauth.Mux, core *oauth.Server) {
	token := tokenHandler(core)
	mux.HandleFunc("POST /oauth/requestGuestToken.json", token)
	mux.HandleFunc("POST /rest/{version}/oauth/requestGuestToken.json", token)
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
		p, req, oerr := oauth.ReadTokenRequest(w, r, oauth.ReadOptions{AgreeingCredentials: true})
		if oerr != nil {
			WriteError(w, r, oerr)
			return
		}
		if a := p.Get("authentication"); a != "" && a != "anonymous" {
			WriteError(w, r, oauth.InvalidRequest("authentication must be anonymous for requestGuestToken"))
			return
		}
		req.MerchantID = p.Get("merchantId")
		res, oerr := core.Token(r.Context(), req)
		if oerr != nil {
			WriteError(w, r, oerr)
			return
		}
		out := success{Result: "success", AccessToken: res.AccessToken, ExpiresIn: res.ExpiresInSeconds(),
			RefreshToken: res.RefreshToken, Scope: strings.Join(res.Scopes, " "), TokenType: "bearer"}
		if req.GrantType == oauth.GrantRefreshToken && out.RefreshToken == "" {
			out.RefreshToken = req.RefreshToken // seed 000 echoes the refresh token the client keeps
		}
		if res.Account != nil {
			out.Username = res.Account.Username
			if req.GrantType == oauth.GrantRefreshToken {
				out.PrintedCardNumber = res.Account.PrintedCardNumber
			}
		}
		respond.JSON(w, http.StatusOK, out)
	}
}

// WriteError writes a core error in the dialect's failure shape, with the
// RFC's status; a protected call's invalid_token is seed 000's 401 failure.
func WriteError(w http.ResponseWriter, _ *http.Request, e *oauth.Error) {
	oauth.SetErrorHeaders(w, e)
	respond.JSON(w, e.Status, failure{Result: "failure", ErrorCode: e.Code, ErrorMessage: e.Sentence()})
}
