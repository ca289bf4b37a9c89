package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// errStale is a change refused in its transaction because If-Match no
// longer holds; errMovesOutside one that would move an account out of the
// caller's tenant.
var (
	errStale        = errors.New("the object changed since it was read")
	errMovesOutside = errors.New("the change would move the account outside the tenant")
)

// fixed answers 422 when the body names a member that cannot change.
func fixed(w http.ResponseWriter, members map[string]json.RawMessage, how map[string]string) bool {
	for name, hint := range how {
		if members[name] != nil {
			problem(w, http.StatusUnprocessableEntity, "Unprocessable Content", name+" cannot be changed; "+hint, name)
			return false
		}
	}
	return true
}

// clientPatch is a PATCH of a client: the members present change.
type clientPatch struct {
	ClientName             *string   `json:"client_name"`
	GrantTypes             *[]string `json:"grant_types"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	Scope                  *string   `json:"scope"`
	DefaultScope           *string   `json:"default_scope"`
	AccessTokenTTL         *int64    `json:"access_token_ttl"`
	RefreshTokenTTL        *int64    `json:"refresh_token_ttl"`
	TokenFormat            *string   `json:"token_format"`
	SkipConsent            *bool     `json:"skip_consent"`
	RequirePKCE            *bool     `json:"require_pkce"`
	RotateRefreshTokens    *bool     `json:"rotate_refresh_tokens"`
	Introspect             *bool     `json:"introspect"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	IDTokenAlg             *string   `json:"id_token_signed_response_alg"`
	// What cannot change is named so the answer can say why.
	ClientID                json.RawMessage `json:"client_id"`
	ClientSecret            json.RawMessage `json:"client_secret"`
	TokenEndpointAuthMethod json.RawMessage `json:"token_endpoint_auth_method"`
	MerchantID              json.RawMessage `json:"merchant_id"`
	AccountKind             json.RawMessage `json:"account_kind"`
	Dialect                 json.RawMessage `json:"dialect"`
	CreatedAt               json.RawMessage `json:"created_at"`
}

// apply sets the members present on c and returns their names.
func (p clientPatch) apply(c *storage.Client) []string {
	var fields []string
	set := func(name string, present bool, do func()) {
		if present {
			do()
			fields = append(fields, name)
		}
	}
	set("client_name", p.ClientName != nil, func() { c.Name = *p.ClientName })
	set("grant_types", p.GrantTypes != nil, func() { c.GrantTypes = *p.GrantTypes })
	set("redirect_uris", p.RedirectURIs != nil, func() { c.RedirectURIs = *p.RedirectURIs })
	set("scope", p.Scope != nil, func() { c.Scopes = strings.Fields(*p.Scope) })
	set("default_scope", p.DefaultScope != nil, func() { c.DefaultScopes = strings.Fields(*p.DefaultScope) })
	set("access_token_ttl", p.AccessTokenTTL != nil, func() { c.AccessTokenTTL = time.Duration(*p.AccessTokenTTL) * time.Second })
	set("refresh_token_ttl", p.RefreshTokenTTL != nil, func() { c.RefreshTokenTTL = time.Duration(*p.RefreshTokenTTL) * time.Second })
	set("token_format", p.TokenFormat != nil, func() { c.AccessTokenFormat = *p.TokenFormat })
	set("skip_consent", p.SkipConsent != nil, func() { c.SkipConsent = *p.SkipConsent })
	set("require_pkce", p.RequirePKCE != nil, func() { c.RequirePKCE = *p.RequirePKCE })
	set("rotate_refresh_tokens", p.RotateRefreshTokens != nil, func() { c.RotateRefresh = *p.RotateRefreshTokens })
	set("introspect", p.Introspect != nil, func() { c.Introspect = *p.Introspect })
	set("post_logout_redirect_uris", p.PostLogoutRedirectURIs != nil, func() { c.PostLogoutRedirectURIs = *p.PostLogoutRedirectURIs })
	set("id_token_signed_response_alg", p.IDTokenAlg != nil, func() { c.IDTokenAlg = *p.IDTokenAlg })
	return fields
}

func (h *Handler) patchClient(w http.ResponseWriter, r *http.Request, c *call) {
	cl, ok := h.client(w, r, c)
	if !ok {
		return
	}
	var p clientPatch
	if !decode(w, r, &p) {
		return
	}
	if !fixed(w, map[string]json.RawMessage{"client_id": p.ClientID, "client_secret": p.ClientSecret,
		"token_endpoint_auth_method": p.TokenEndpointAuthMethod, "merchant_id": p.MerchantID, "account_kind": p.AccountKind,
		"dialect": p.Dialect, "created_at": p.CreatedAt}, map[string]string{
		"client_id": "register a new client", "client_secret": "rotate it with POST …/secret",
		"token_endpoint_auth_method": "register a new client", "merchant_id": "register a new client for the other merchant",
		"account_kind": "register a new client", "dialect": "register a new client", "created_at": "it is the registration's time"}) {
		return
	}
	var fields []string
	updated, err := h.dir.UpdateClient(r.Context(), cl.ID, func(cur *storage.Client) ([]string, error) {
		if !etagMatches(r.Header.Get("If-Match"), etag(clientOf(*cur))) {
			return nil, errStale
		}
		fields = p.apply(cur)
		return fields, nil
	})
	switch {
	case errors.Is(err, errStale):
		stale(w)
		return
	case err != nil:
		h.dirError(w, r, err, clientFields, "")
		return
	}
	h.core.ForgetClient(cl.ID)
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditClientUpdated, Subject: "client:" + cl.ID, ClientID: cl.ID,
		MerchantID: cl.MerchantID, Detail: map[string]string{"fields": strings.Join(fields, ",")}})
	writeObject(w, http.StatusOK, clientOf(updated))
}

// accountPatch is a PATCH of an account: the members present change.
type accountPatch struct {
	Username          *string   `json:"username"`
	PrintedCardNumber *string   `json:"printed_card_number"`
	Memberships       *[]string `json:"memberships"`
	// What cannot change here is named so the answer can say why.
	ID         json.RawMessage `json:"id"`
	Kind       json.RawMessage `json:"kind"`
	MerchantID json.RawMessage `json:"merchant_id"`
	Password   json.RawMessage `json:"password"`
	Disabled   json.RawMessage `json:"disabled"`
	CreatedAt  json.RawMessage `json:"created_at"`
}

func (p accountPatch) apply(a *storage.Account) []string {
	var fields []string
	if p.Username != nil {
		a.Username, fields = *p.Username, append(fields, "username")
	}
	if p.PrintedCardNumber != nil {
		a.PrintedCardNumber, fields = *p.PrintedCardNumber, append(fields, "printed_card_number")
	}
	if p.Memberships != nil {
		a.Memberships = nil
		for _, m := range *p.Memberships {
			a.Memberships = append(a.Memberships, oauth.ParseMembership(m))
		}
		fields = append(fields, "memberships")
	}
	return fields
}

func (h *Handler) patchAccount(w http.ResponseWriter, r *http.Request, c *call) {
	a, ok := h.account(w, r, c, true)
	if !ok {
		return
	}
	var p accountPatch
	if !decode(w, r, &p) {
		return
	}
	if !fixed(w, map[string]json.RawMessage{"id": p.ID, "kind": p.Kind, "merchant_id": p.MerchantID, "password": p.Password,
		"disabled": p.Disabled, "created_at": p.CreatedAt}, map[string]string{
		"id": "create a new account", "kind": "create a new account", "merchant_id": "a guest belongs to one merchant; create a new account",
		"password": "set it with POST …/password", "disabled": "use POST …/disable or …/enable", "created_at": "it is the creation's time"}) {
		return
	}
	var fields []string
	updated, err := h.dir.UpdateAccount(r.Context(), a.ID, func(cur *storage.Account) ([]string, error) {
		if !etagMatches(r.Header.Get("If-Match"), etag(accountOf(*cur))) {
			return nil, errStale
		}
		fields = p.apply(cur)
		if err := oauth.CheckAccount(*cur); err != nil {
			return nil, err
		}
		if !c.tenant.ownsAccount(*cur) {
			return nil, errMovesOutside
		}
		return fields, nil
	})
	switch {
	case errors.Is(err, errStale):
		stale(w)
		return
	case errors.Is(err, errMovesOutside):
		problem(w, http.StatusForbidden, "Forbidden", "the account would be outside "+c.tenant.String(), "memberships")
		return
	case err != nil:
		h.dirError(w, r, err, nil, referenceField(a))
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditAccountUpdated, Subject: "account:" + a.ID, MerchantID: a.MerchantID,
		Detail: map[string]string{"fields": strings.Join(fields, ",")}})
	writeObject(w, http.StatusOK, accountOf(updated))
}

// consentView is a remembered approval of an account.
type consentView struct {
	ClientID  string `json:"client_id"`
	Owner     string `json:"owner"` // merchant:ID, organization:ID, guest:ID…: whom the client acts for
	Scope     string `json:"scope"`
	GrantedAt string `json:"granted_at,omitempty"`
}

func (h *Handler) listConsents(w http.ResponseWriter, r *http.Request, c *call) {
	a, ok := h.account(w, r, c, false)
	if !ok {
		return
	}
	cs, err := h.dir.Consents(r.Context(), a.ID)
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	out := make([]consentView, 0, len(cs))
	for _, cn := range cs {
		out = append(out, consentView{ClientID: cn.ClientID, Owner: string(cn.Owner.Type) + ":" + cn.Owner.ID,
			Scope: strings.Join(cn.Scopes, " "), GrantedAt: stamp(cn.GrantedAt)})
	}
	paginate(w, r, out, func(v consentView) string { return v.ClientID + " " + v.Owner })
}

func (h *Handler) withdrawConsent(w http.ResponseWriter, r *http.Request, c *call) {
	a, ok := h.account(w, r, c, true)
	if !ok {
		return
	}
	if _, err := h.dir.WithdrawConsent(r.Context(), a.ID, r.PathValue("client_id")); err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
