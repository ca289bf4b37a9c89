package admin

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
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

// unchanged is the If-Match check a PATCH makes in its transaction,
// against the row it is about to change (view is that row as the API
// shows it): nil when r has no If-Match or it names view's ETag, else
// errStale.
func unchanged(r *http.Request, view any) error {
	if !etagMatches(r.Header.Get("If-Match"), etag(view)) {
		return errStale
	}
	return nil
}

// refused answers what a PATCH's change itself refused in the
// transaction: 412 for errStale, 422 for a member out of bounds
// (*oauth.FieldError). It reports whether it answered.
func refused(w http.ResponseWriter, err error) bool {
	var fe *oauth.FieldError
	switch {
	case errors.Is(err, errStale):
		stale(w)
	case errors.As(err, &fe):
		problem(w, http.StatusUnprocessableEntity, "Unprocessable Content", fe.Error(), fe.Field)
	default:
		return false
	}
	return true
}

// clientFixed are the members of a client a PATCH cannot change, each
// with the way to change it instead (decodePatch answers 422 for them).
var clientFixed = map[string]string{
	"client_id": "register a new client", "client_secret": "rotate it with POST …/secret",
	"token_endpoint_auth_method": "register a new client", "merchant_id": "register a new client for the other merchant",
	"organization_id": "register a new client for the other organization",
	"account_kind":    "register a new client", "dialect": "register a new client", "created_at": "it is the registration's time",
}

// accountFixed are those of an account.
var accountFixed = map[string]string{
	"id": "create a new account", "kind": "create a new account",
	"merchant_id": "a guest belongs to one merchant; create a new account",
	"password":    "set it with POST …/password", "disabled": "use POST …/disable or …/enable",
	"created_at": "it is the creation's time",
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
}

// apply sets the members present on c and returns their names; a
// lifetime out of bounds is a *oauth.FieldError, as at registration.
func (p clientPatch) apply(c *storage.Client) ([]string, error) {
	var fields []string
	set := func(name string, present bool, do func()) {
		if present {
			do()
			fields = append(fields, name)
		}
	}
	ttl := func(name string, secs *int64) (time.Duration, error) {
		if secs == nil {
			return 0, nil
		}
		return oauth.TTLSeconds(name, *secs)
	}
	access, aerr := ttl("access_token_ttl", p.AccessTokenTTL)
	refresh, rerr := ttl("refresh_token_ttl", p.RefreshTokenTTL)
	if err := cmp.Or(aerr, rerr); err != nil {
		return nil, err
	}
	set("client_name", p.ClientName != nil, func() { c.Name = *p.ClientName })
	set("grant_types", p.GrantTypes != nil, func() { c.GrantTypes = *p.GrantTypes })
	set("redirect_uris", p.RedirectURIs != nil, func() { c.RedirectURIs = *p.RedirectURIs })
	set("scope", p.Scope != nil, func() { c.Scopes = strings.Fields(*p.Scope) })
	set("default_scope", p.DefaultScope != nil, func() { c.DefaultScopes = strings.Fields(*p.DefaultScope) })
	set("access_token_ttl", p.AccessTokenTTL != nil, func() { c.AccessTokenTTL = access })
	set("refresh_token_ttl", p.RefreshTokenTTL != nil, func() { c.RefreshTokenTTL = refresh })
	set("token_format", p.TokenFormat != nil, func() { c.AccessTokenFormat = *p.TokenFormat })
	set("skip_consent", p.SkipConsent != nil, func() { c.SkipConsent = *p.SkipConsent })
	set("require_pkce", p.RequirePKCE != nil, func() { c.RequirePKCE = *p.RequirePKCE })
	set("rotate_refresh_tokens", p.RotateRefreshTokens != nil, func() { c.RotateRefresh = *p.RotateRefreshTokens })
	set("introspect", p.Introspect != nil, func() { c.Introspect = *p.Introspect })
	set("post_logout_redirect_uris", p.PostLogoutRedirectURIs != nil, func() { c.PostLogoutRedirectURIs = *p.PostLogoutRedirectURIs })
	set("id_token_signed_response_alg", p.IDTokenAlg != nil, func() { c.IDTokenAlg = *p.IDTokenAlg })
	return fields, nil
}

func (h *Handler) patchClient(w http.ResponseWriter, r *http.Request, c *call) {
	cl, ok := h.client(w, r, c)
	if !ok {
		return
	}
	var p clientPatch
	if !decodePatch(w, r, &p, clientFixed) {
		return
	}
	var fields []string
	updated, err := h.dir.UpdateClient(r.Context(), cl.ID, func(cur *storage.Client) ([]string, error) {
		if err := unchanged(r, clientOf(*cur)); err != nil {
			return nil, err
		}
		var err error
		fields, err = p.apply(cur)
		return fields, err
	})
	switch {
	case refused(w, err):
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
	if !decodePatch(w, r, &p, accountFixed) {
		return
	}
	var fields []string
	updated, err := h.dir.UpdateAccount(r.Context(), a.ID, func(cur *storage.Account) ([]string, error) {
		if err := unchanged(r, accountOf(*cur)); err != nil {
			return nil, err
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
	case refused(w, err):
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
	clientID := r.PathValue("client_id")
	n, err := h.dir.WithdrawConsent(r.Context(), a.ID, clientID)
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditConsentWithdrawn, Subject: "account:" + a.ID, ClientID: clientID,
		MerchantID: a.MerchantID, Detail: map[string]string{"count": strconv.Itoa(n)}})
	w.WriteHeader(http.StatusNoContent)
}
