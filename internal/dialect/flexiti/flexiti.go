// Package flexiti is the Flexiti POS API dialect: the token endpoint and
// the deprecated merchant login that returns the credit form's option lists.
package flexiti

import (
	"bytes"
	"embed"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
)

// Base is the path prefix of the POS API.
const Base = "/flexiti/pos-api/v2.5"

// maxReferenceID bounds the x-reference-id header.
const maxReferenceID = 64

//go:embed form_values_*.json
var formFiles embed.FS

// Routes registers the dialect's endpoints.
func Routes(mux oauth.Mux, core *oauth.Server) {
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
func requireReference(w http.ResponseWriter, r *http.Request, at place) bool {
	ref := r.Header.Get("X-Reference-Id")
	switch {
	case ref == "":
		writeError(w, r, at, oauth.InvalidRequest("the x-reference-id header is missing").For(paramReference))
		return false
	case len(ref) > maxReferenceID:
		writeError(w, r, at, oauth.InvalidRequest("the x-reference-id header is longer than %d characters", maxReferenceID).For(paramReference))
		return false
	}
	return true
}

func tokenHandler(core *oauth.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !requireReference(w, r, atToken) {
			return
		}
		_, req, oerr := oauth.ReadTokenRequest(w, r, oauth.ReadOptions{AgreeingCredentials: true})
		if oerr != nil {
			writeError(w, r, atToken, oerr)
			return
		}
		if req.GrantType == "" {
			req.GrantType = oauth.GrantClientCredentials // the seed's default; scope defaults to the client's (merchant)
		}
		res, oerr := core.Token(r.Context(), req)
		if oerr != nil {
			writeError(w, r, atToken, oerr)
			return
		}
		respond.JSON(w, http.StatusOK, response{TokenType: "bearer", AccessToken: res.AccessToken,
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

// loginScopes are the scopes that may call merchants/login: the seed lists
// it among the customer-scope endpoints, and merchant scope reaches all.
var loginScopes = []string{"merchant", "customer"}

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
		if !requireReference(w, r, atLogin) {
			return
		}
		// The seed documents en and fr; integrations send EN or Fr too.
		lang := strings.ToLower(r.URL.Query().Get("lang"))
		if lang == "" {
			lang = "en"
		}
		out, ok := forms[lang]
		if !ok {
			writeError(w, r, atLogin, oauth.InvalidRequest("lang must be en or fr").For("lang"))
			return
		}
		token, _ := bearer.Token(r)
		req := oauth.MerchantLogin{Token: token, ClientID: r.PathValue("client_id"), AnyScope: loginScopes,
			RemoteAddr: oauth.RemoteIP(r)}
		if r.ContentLength != 0 {
			p, oerr := oauth.ReadParams(w, r)
			if oerr != nil {
				writeError(w, r, atLogin, oerr)
				return
			}
			req.Username, req.Password = p.Get("merchant_username"), p.Get("merchant_password")
		}
		res, oerr := core.LoginMerchant(r.Context(), req)
		if oerr != nil {
			writeError(w, r, atLogin, oerr)
			return
		}
		out.MerchantName, out.MerchantID = res.Merchant.Name, res.Merchant.ID
		respond.JSON(w, http.StatusOK, out)
	}
}

func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	json.Compact(&b, raw)
	return b.Bytes()
}
