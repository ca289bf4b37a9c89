// Package aston is the Aston Club dialect: merchant and organization
// authorization pages, and the /v1/token endpoint.
package aston

import (
	"net/http"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/web"
)

// Routes registers the dialect's endpoints.
func Routes(mux *http.ServeMux, core *oauth.Server, pages *web.Handler) {
	for path, owner := range map[string]storage.OwnerType{
		"/authorize/merchant":     storage.OwnerMerchant,
		"/authorize/organization": storage.OwnerOrganization,
	} {
		h := func(w http.ResponseWriter, r *http.Request) {
			pages.AuthorizeWith(w, r, path, func(req *oauth.AuthorizeRequest) {
				req.OwnerTypes = []storage.OwnerType{owner} // the picker lists only this kind
				req.AnnounceGrantType = true
			})
		}
		mux.HandleFunc("GET "+path, h)
		mux.HandleFunc("POST "+path, h)
	}
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
		_, req, oerr := oauth.ReadTokenRequest(w, r)
		if oerr != nil {
			oauth.WriteError(w, oerr)
			return
		}
		if g := req.GrantType; g != oauth.GrantAuthorizationCode && g != oauth.GrantRefreshToken && g != "" {
			oauth.WriteError(w, &oauth.Error{Code: oauth.ErrUnsupportedGrantType, Status: http.StatusBadRequest,
				Description: "grant_type must be authorization_code or refresh_token"})
			return
		}
		res, oerr := core.Token(r.Context(), req)
		if oerr != nil {
			oauth.WriteError(w, oerr)
			return
		}
		oauth.WriteJSON(w, http.StatusOK, response{AccessToken: res.AccessToken, TokenType: "bearer",
			ExpiresIn: res.ExpiresInSeconds(), Scope: strings.Join(res.Scopes, " "),
			ResourceOwnerType: string(res.Owner.Type), RefreshToken: res.RefreshToken})
	}
}
