// Package aston is the Aston Club dialect: merchant and organization
// authorization pages, and the /v1/token endpoint.
package aston

import (
	"net/http"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Pages are the authorization pages of seed 003, by path: each lists only
// its kind of resource owner in the picker, and the redirect names the
// grant (redirect_uri?grant_type=authorization_code&code=…&state=…).
var Pages = map[string]oauth.AuthorizeProfile{
	"/authorize/merchant":     profile(storage.OwnerMerchant),
	"/authorize/organization": profile(storage.OwnerOrganization),
}

func profile(owner storage.OwnerType) oauth.AuthorizeProfile {
	return oauth.AuthorizeProfile{OwnerTypes: []storage.OwnerType{owner},
		RedirectParams: map[string]string{"grant_type": oauth.GrantAuthorizationCode}}
}

// Routes registers the dialect's token endpoint.
func Routes(mux oauth.Mux, core *oauth.Server) {
	mux.HandleFunc("POST /v1/token", tokenHandler(core))
}

// response is the seed's token body, fields in its order.
type response struct {
	AccessToken       string `json:"access_token"`
	TokenType         string `json:"token_type"`
	ExpiresIn         int64  `json:"expires_in,omitempty"` // left out when the token never expires
	Scope             string `json:"scope"`
	ResourceOwnerType string `json:"resource_owner_type"`
	RefreshToken      string `json:"refresh_token,omitempty"`
}

func tokenHandler(core *oauth.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, req, oerr := oauth.ReadTokenRequest(w, r, oauth.ReadOptions{AgreeingCredentials: true})
		if oerr != nil {
			oauth.WriteError(w, oerr)
			return
		}
		req.Grants = []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken} // all that /v1/token serves (seed 003)
		res, oerr := core.Token(r.Context(), req)
		if oerr != nil {
			oauth.WriteError(w, oerr)
			return
		}
		respond.JSON(w, http.StatusOK, response{AccessToken: res.AccessToken, TokenType: "bearer",
			ExpiresIn: res.ExpiresInSeconds(), Scope: strings.Join(res.Scopes, " "),
			ResourceOwnerType: string(res.Owner.Type), RefreshToken: res.RefreshToken})
	}
}
