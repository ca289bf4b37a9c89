// Package flexiti is the Flexiti POS API dialect: the token endpoint and
// the deprecated merchant login that returns the credit form's option lists.
package flexiti

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Base is the path prefix of the POS API.
const Base = "/flexiti/pos-api/v2.5"

// maxReferenceID bounds the x-reference-id header.
const maxReferenceID = 64

//go:embed form_values_*.json
var formFiles embed.FS

// Routes registers the dialect's endpoints.
func Routes(mux *http.ServeMux, core *oauth.Server) {
	mux.HandleFunc("POST "+Base+"/oauth/token", tokenHandler(core))
	mux.HandleFunc("POST "+Base+"/client-id/{client_id}/merchants/login", merchantLogin(core))
}

// response is the seed's token body, fields in its order.
type response struct {
	TokenType    string `json:"token_type"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// requireReference checks the x-reference-id header every call must carry;
// the request id middleware already echoes it and puts it on every log line.
func requireReference(w http.ResponseWriter, r *http.Request) bool {
	ref := r.Header.Get("X-Reference-Id")
	switch {
	case ref == "":
		oauth.WriteError(w, &oauth.Error{Code: oauth.ErrInvalidRequest, Status: http.StatusBadRequest, Description: "the x-reference-id header is missing"})
		return false
	case len(ref) > maxReferenceID:
		oauth.WriteError(w, &oauth.Error{Code: oauth.ErrInvalidRequest, Status: http.StatusBadRequest, Description: "the x-reference-id header is longer than 64 characters"})
		return false
	}
	return true
}

func tokenHandler(core *oauth.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !requireReference(w, r) {
			return
		}
		_, req, oerr := oauth.ReadTokenRequest(w, r)
		if oerr != nil {
			oauth.WriteError(w, oerr)
			return
		}
		if req.GrantType == "" {
			req.GrantType = oauth.GrantClientCredentials // the seed's default; scope defaults to the client's (merchant)
		}
		res, oerr := core.Token(r.Context(), req)
		if oerr != nil {
			oauth.WriteError(w, oerr)
			return
		}
		oauth.WriteJSON(w, http.StatusOK, response{TokenType: "bearer", AccessToken: res.AccessToken,
			ExpiresIn: res.ExpiresInSeconds(), RefreshToken: res.RefreshToken, Scope: strings.Join(res.Scopes, " ")})
	}
}

// loginResponse is the deprecated endpoint's body. The seed prints
// occupation_id after form_values closes, so it is sent in both places.
type loginResponse struct {
	MerchantName string          `json:"merchant_name"`
	MerchantID   string          `json:"merchant_id"`
	FormValues   json.RawMessage `json:"form_values"`
	OccupationID json.RawMessage `json:"occupation_id"`
}

// deprecatedSince is the 20.3 release (1 July 2020), as an RFC 9745 date.
const deprecatedSince = "@1593561600"

func merchantLogin(core *oauth.Server) http.HandlerFunc {
	forms := map[string]loginResponse{}
	for _, lang := range []string{"en", "fr"} {
		raw, _ := formFiles.ReadFile("form_values_" + lang + ".json")
		var parts map[string]json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			panic("flexiti: embedded form values are not JSON: " + err.Error()) // a build defect, caught by tests
		}
		forms[lang] = loginResponse{FormValues: compact(raw), OccupationID: compact(parts["occupation_id"])}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Deprecation", deprecatedSince)
		w.Header().Set("Link", `<`+core.Issuer()+Base+`/oauth/token>; rel="successor-version"`)
		if !requireReference(w, r) {
			return
		}
		token, _ := oauth.BearerToken(r)
		access, oerr := core.CheckAccess(r.Context(), token)
		if oerr != nil {
			writeBearerError(w, oerr)
			return
		}
		if access.ClientID != r.PathValue("client_id") {
			writeBearerError(w, &oauth.Error{Code: oauth.ErrInvalidToken, Status: http.StatusUnauthorized,
				Description: "the access token was issued to another client"})
			return
		}
		if !access.HasAnyScope("merchant", "customer") {
			writeBearerError(w, oauth.InsufficientScope("merchant", "customer"))
			return
		}
		lang := r.URL.Query().Get("lang")
		if lang == "" {
			lang = "en"
		}
		out, ok := forms[lang]
		if !ok {
			oauth.WriteError(w, &oauth.Error{Code: oauth.ErrInvalidRequest, Status: http.StatusBadRequest, Description: "lang must be en or fr"})
			return
		}
		merchant, oerr := loginMerchant(r, core, access)
		if oerr != nil {
			oauth.WriteError(w, oerr)
			return
		}
		out.MerchantName, out.MerchantID = merchant.Name, merchant.ID
		oauth.WriteJSON(w, http.StatusOK, out)
	}
}

// loginMerchant finds the merchant the call acts for: the client's, after
// checking the optional merchant_username and merchant_password.
func loginMerchant(r *http.Request, core *oauth.Server, access oauth.Access) (storage.Merchant, *oauth.Error) {
	ctx := r.Context()
	var p oauth.Params
	if r.ContentLength != 0 {
		var oerr *oauth.Error
		if p, oerr = oauth.ReadParams(nil, r); oerr != nil {
			return storage.Merchant{}, oerr
		}
	}
	client, err := core.Client(ctx, access.ClientID)
	if err != nil {
		return storage.Merchant{}, internal(ctx, core, err)
	}
	if user := p.Get("merchant_username"); user != "" || p.Get("merchant_password") != "" {
		if _, oerr := core.Login(ctx, client, user, p.Get("merchant_password"), oauth.RemoteIP(r)); oerr != nil {
			return storage.Merchant{}, oerr
		}
	}
	m, err := core.Merchant(ctx, client.MerchantID)
	if err != nil {
		return storage.Merchant{}, internal(ctx, core, err)
	}
	return m, nil
}

func internal(ctx context.Context, core *oauth.Server, err error) *oauth.Error {
	if errors.Is(err, storage.ErrNotFound) {
		return &oauth.Error{Code: oauth.ErrInvalidRequest, Status: http.StatusBadRequest, Description: "this client is bound to no merchant"}
	}
	return core.Internal(ctx, "flexiti merchant login", err)
}

// writeBearerError answers an RFC 6750 error with its WWW-Authenticate challenge.
func writeBearerError(w http.ResponseWriter, e *oauth.Error) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+e.Code+`", error_description="`+e.Description+`"`)
	oauth.WriteError(w, e)
}

func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	json.Compact(&b, raw)
	return b.Bytes()
}
