package admin

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func location(kind, id string) string { return Prefix + "/" + kind + "/" + url.PathEscape(id) }

// ---- merchants

type merchantView struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	OrganizationID string `json:"organization_id,omitempty"`
	CreatedAt      string `json:"created_at,omitempty"`
}

func merchantOf(m storage.Merchant) merchantView {
	return merchantView{ID: m.ID, Name: m.Name, OrganizationID: m.OrganizationID, CreatedAt: stamp(m.CreatedAt)}
}

var merchantFields = map[string]string{}

func (h *Handler) listMerchants(w http.ResponseWriter, r *http.Request, c *call) {
	ms, err := h.dir.ListMerchants(r.Context())
	if err != nil {
		h.fail(w, r, "list merchants", err)
		return
	}
	var out []merchantView
	for _, m := range ms {
		if c.tenant.seesMerchant(m) {
			out = append(out, merchantOf(m))
		}
	}
	paginate(w, r, out, func(v merchantView) string { return v.ID })
}

func (h *Handler) createMerchant(w http.ResponseWriter, r *http.Request, c *call) {
	var in struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		OrganizationID string `json:"organization_id"`
	}
	if !decode(w, r, &in) || !required(w, "id", in.ID != "") || !required(w, "name", in.Name != "") {
		return
	}
	m, err := h.dir.CreateMerchant(r.Context(), storage.Merchant{ID: in.ID, Name: in.Name, OrganizationID: in.OrganizationID})
	if err != nil {
		h.dirError(w, r, err, merchantFields, "organization_id")
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditMerchantCreated, Subject: "merchant:" + m.ID, MerchantID: m.ID,
		OrganizationID: m.OrganizationID})
	created(w, location("merchants", m.ID), merchantOf(m))
}

// merchant loads merchant id for the caller; it answers 404 itself.
func (h *Handler) merchant(w http.ResponseWriter, r *http.Request, c *call) (storage.Merchant, bool) {
	id := r.PathValue("id")
	m, err := h.dir.Merchant(r.Context(), id)
	if err == nil && !c.tenant.seesMerchant(m) {
		outside(w, "merchant", id, c.tenant)
		return m, false
	}
	if err != nil {
		h.dirError(w, r, err, merchantFields, "")
		return m, false
	}
	return m, true
}

func (h *Handler) getMerchant(w http.ResponseWriter, r *http.Request, c *call) {
	if m, ok := h.merchant(w, r, c); ok {
		writeObject(w, http.StatusOK, merchantOf(m))
	}
}

func (h *Handler) deleteMerchant(w http.ResponseWriter, r *http.Request, c *call) {
	m, ok := h.merchant(w, r, c)
	if !ok || !preconditionOK(w, r, merchantOf(m)) {
		return
	}
	if err := h.dir.DeleteMerchant(r.Context(), m.ID); err != nil {
		h.dirError(w, r, err, merchantFields, "")
		return
	}
	h.core.ForgetMerchant(m.ID)
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditMerchantDeleted, Subject: "merchant:" + m.ID, MerchantID: m.ID})
	w.WriteHeader(http.StatusNoContent)
}

// ---- organizations

type organizationView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at,omitempty"`
}

func organizationOf(o storage.Organization) organizationView {
	return organizationView{ID: o.ID, Name: o.Name, CreatedAt: stamp(o.CreatedAt)}
}

func (h *Handler) listOrganizations(w http.ResponseWriter, r *http.Request, c *call) {
	os, err := h.dir.ListOrganizations(r.Context())
	if err != nil {
		h.fail(w, r, "list organizations", err)
		return
	}
	var out []organizationView
	for _, o := range os {
		if c.tenant.seesOrganization(o) {
			out = append(out, organizationOf(o))
		}
	}
	paginate(w, r, out, func(v organizationView) string { return v.ID })
}

func (h *Handler) createOrganization(w http.ResponseWriter, r *http.Request, c *call) {
	var in struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if !decode(w, r, &in) || !required(w, "id", in.ID != "") || !required(w, "name", in.Name != "") {
		return
	}
	o, err := h.dir.CreateOrganization(r.Context(), storage.Organization{ID: in.ID, Name: in.Name})
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditOrganizationCreated, Subject: "organization:" + o.ID, OrganizationID: o.ID})
	created(w, location("organizations", o.ID), organizationOf(o))
}

func (h *Handler) organization(w http.ResponseWriter, r *http.Request, c *call) (storage.Organization, bool) {
	id := r.PathValue("id")
	o, err := h.dir.Organization(r.Context(), id)
	if err == nil && !c.tenant.seesOrganization(o) {
		outside(w, "organization", id, c.tenant)
		return o, false
	}
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return o, false
	}
	return o, true
}

func (h *Handler) getOrganization(w http.ResponseWriter, r *http.Request, c *call) {
	if o, ok := h.organization(w, r, c); ok {
		writeObject(w, http.StatusOK, organizationOf(o))
	}
}

func (h *Handler) deleteOrganization(w http.ResponseWriter, r *http.Request, c *call) {
	o, ok := h.organization(w, r, c)
	if !ok || !preconditionOK(w, r, organizationOf(o)) {
		return
	}
	if err := h.dir.DeleteOrganization(r.Context(), o.ID); err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditOrganizationDeleted, Subject: "organization:" + o.ID, OrganizationID: o.ID})
	w.WriteHeader(http.StatusNoContent)
}

// ---- accounts

type accountView struct {
	ID                string   `json:"id"`
	Kind              string   `json:"kind"`
	Username          string   `json:"username"`
	MerchantID        string   `json:"merchant_id,omitempty"`
	PrintedCardNumber string   `json:"printed_card_number,omitempty"`
	Memberships       []string `json:"memberships"`
	Disabled          bool     `json:"disabled"`
	CreatedAt         string   `json:"created_at,omitempty"`
}

func accountOf(a storage.Account) accountView {
	v := accountView{ID: a.ID, Kind: string(a.Kind), Username: a.Username, MerchantID: a.MerchantID,
		PrintedCardNumber: a.PrintedCardNumber, Memberships: []string{}, Disabled: a.Disabled, CreatedAt: stamp(a.CreatedAt)}
	for _, m := range a.Memberships {
		v.Memberships = append(v.Memberships, string(m.Type)+":"+m.ID)
	}
	return v
}

func (h *Handler) listAccounts(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	f := storage.AccountFilter{Kind: storage.AccountKind(q.Get("kind")), MerchantID: q.Get("merchant_id")}
	if err := oauth.CheckAccountFilter(f); err != nil {
		msg, _ := apiWords(err.Error(), nil)
		problem(w, http.StatusBadRequest, "Bad Request", msg, "kind")
		return
	}
	size, ok := pageSize(w, q)
	if !ok {
		return
	}
	if f.After, ok = pageAfter(w, q); !ok {
		return
	}
	// The database pages and keeps the tenant's accounts: a platform of a
	// million guests is never read whole for one page.
	f.Within, f.Limit = c.tenant.members(), size+1
	as, err := h.dir.ListAccounts(r.Context(), f)
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	respond.JSON(w, http.StatusOK, pageOf(as, size, func(a storage.Account) string { return a.ID }, accountOf))
}

func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request, c *call) {
	var in struct {
		ID                string   `json:"id"`
		Kind              string   `json:"kind"`
		Username          string   `json:"username"`
		MerchantID        string   `json:"merchant_id"`
		PrintedCardNumber string   `json:"printed_card_number"`
		Memberships       []string `json:"memberships"`
		Password          string   `json:"password"`
	}
	if !decode(w, r, &in) || !required(w, "kind", in.Kind != "") || !required(w, "username", in.Username != "") ||
		!required(w, "password", in.Password != "") {
		return
	}
	a := storage.Account{ID: in.ID, Kind: storage.AccountKind(in.Kind), Username: in.Username, MerchantID: in.MerchantID,
		PrintedCardNumber: in.PrintedCardNumber}
	if a.Kind == storage.Guest && a.MerchantID == "" && c.tenant.merchant != "" {
		a.MerchantID = c.tenant.merchant // a merchant's admin creates its own guests
	}
	for _, m := range in.Memberships {
		a.Memberships = append(a.Memberships, oauth.ParseMembership(m))
	}
	if err := oauth.CheckAccount(a); err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	if !c.tenant.ownsAccount(a) {
		field := "memberships"
		if a.Kind == storage.Guest {
			field = "merchant_id"
		}
		problem(w, http.StatusForbidden, "Forbidden", "the account would be outside "+c.tenant.String(), field)
		return
	}
	a, err := h.dir.CreateAccount(r.Context(), a, in.Password)
	if err != nil {
		h.dirError(w, r, err, nil, referenceField(a))
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditAccountCreated, Subject: "account:" + a.ID, MerchantID: a.MerchantID,
		Detail: map[string]string{"kind": string(a.Kind)}})
	created(w, location("accounts", a.ID), accountOf(a))
}

// referenceField is the field naming the records an account refers to.
func referenceField(a storage.Account) string {
	if a.Kind == storage.Guest {
		return "merchant_id"
	}
	return "memberships"
}

// account loads account id for the caller; change asks that the caller
// may change it, not only read it. It answers the request itself on failure.
func (h *Handler) account(w http.ResponseWriter, r *http.Request, c *call, change bool) (storage.Account, bool) {
	id := r.PathValue("id")
	a, err := h.dir.Account(r.Context(), id)
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return a, false
	}
	if !c.tenant.seesAccount(a) {
		outside(w, "account", id, c.tenant)
		return a, false
	}
	if change && !c.tenant.ownsAccount(a) {
		problem(w, http.StatusForbidden, "Forbidden", "the account is also a member outside "+c.tenant.String()+
			"; a platform administrator changes it", "")
		return a, false
	}
	return a, true
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request, c *call) {
	if a, ok := h.account(w, r, c, false); ok {
		writeObject(w, http.StatusOK, accountOf(a))
	}
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, c *call) {
	a, ok := h.account(w, r, c, true)
	if !ok || !preconditionOK(w, r, accountOf(a)) {
		return
	}
	if err := h.dir.DeleteAccount(r.Context(), a.ID); err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditAccountDeleted, Subject: "account:" + a.ID, MerchantID: a.MerchantID})
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request, c *call) {
	a, ok := h.account(w, r, c, true)
	if !ok || !preconditionOK(w, r, accountOf(a)) {
		return
	}
	var in struct {
		Password string `json:"password"`
	}
	if !decode(w, r, &in) || !required(w, "password", in.Password != "") {
		return
	}
	if err := h.dir.SetPassword(r.Context(), a.ID, in.Password); err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditAccountPasswordSet, Subject: "account:" + a.ID, MerchantID: a.MerchantID,
		Detail: map[string]string{"revoked": "tokens,sessions"}})
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) disable(disabled bool) handlerFunc {
	typ := oauth.AuditAccountEnabled
	if disabled {
		typ = oauth.AuditAccountDisabled
	}
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		a, ok := h.account(w, r, c, true)
		if !ok || !preconditionOK(w, r, accountOf(a)) {
			return
		}
		if err := h.dir.SetDisabled(r.Context(), a.ID, disabled); err != nil {
			h.dirError(w, r, err, nil, "")
			return
		}
		h.audit(withCall(r, c), storage.AuditEvent{Type: typ, Subject: "account:" + a.ID, MerchantID: a.MerchantID})
		a, err := h.dir.Account(r.Context(), a.ID)
		if err != nil {
			h.dirError(w, r, err, nil, "")
			return
		}
		writeObject(w, http.StatusOK, accountOf(a))
	}
}

// ---- clients

// clientView is a client in RFC 7591's names and latchkey's; it never
// carries the secret (see clientWithSecret).
type clientView struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	GrantTypes              []string `json:"grant_types"`
	RedirectURIs            []string `json:"redirect_uris"`
	Scope                   string   `json:"scope"`
	DefaultScope            string   `json:"default_scope"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	MerchantID              string   `json:"merchant_id,omitempty"`
	OrganizationID          string   `json:"organization_id,omitempty"`
	AccountKind             string   `json:"account_kind"`
	AccessTokenTTL          int64    `json:"access_token_ttl"`
	RefreshTokenTTL         int64    `json:"refresh_token_ttl"`
	TokenFormat             string   `json:"token_format"`
	Dialect                 string   `json:"dialect,omitempty"`
	SkipConsent             bool     `json:"skip_consent"`
	RequirePKCE             bool     `json:"require_pkce"`
	RotateRefreshTokens     bool     `json:"rotate_refresh_tokens"`
	Introspect              bool     `json:"introspect"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	IDTokenAlg              string   `json:"id_token_signed_response_alg"`
	CreatedAt               string   `json:"created_at,omitempty"`
}

// clientWithSecret is a client as create and rotate answer it, once.
type clientWithSecret struct {
	clientView
	ClientSecret string `json:"client_secret,omitempty"`
}

func clientOf(c storage.Client) clientView {
	method := cmp.Or(c.AuthMethod, string(oauth.AuthBasic))
	if c.Public() {
		method = string(oauth.AuthNone)
	}
	return clientView{ClientID: c.ID, ClientName: c.Name, GrantTypes: nonNil(c.GrantTypes), RedirectURIs: nonNil(c.RedirectURIs),
		Scope: strings.Join(c.Scopes, " "), DefaultScope: strings.Join(c.DefaultScopes, " "), TokenEndpointAuthMethod: method,
		MerchantID: c.MerchantID, OrganizationID: c.OrganizationID, AccountKind: string(c.AccountKind), AccessTokenTTL: int64(c.AccessTokenTTL / time.Second),
		RefreshTokenTTL: int64(c.RefreshTokenTTL / time.Second), TokenFormat: cmp.Or(c.AccessTokenFormat, "opaque"),
		Dialect: c.Dialect, SkipConsent: c.SkipConsent, RequirePKCE: c.RequirePKCE, RotateRefreshTokens: c.RotateRefresh,
		Introspect: c.Introspect, PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs), IDTokenAlg: cmp.Or(c.IDTokenAlg, "RS256"),
		CreatedAt: stamp(c.CreatedAt)}
}

var clientFields = map[string]string{"id": "client_id", "name": "client_name", "client": "yes"}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, c *call) {
	cs, err := h.dir.ListClients(r.Context())
	if err != nil {
		h.fail(w, r, "list clients", err)
		return
	}
	var out []clientView
	for _, cl := range cs {
		if c.tenant.seesClient(cl) {
			out = append(out, clientOf(cl))
		}
	}
	paginate(w, r, out, func(v clientView) string { return v.ClientID })
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, c *call) {
	var in oauth.ClientRegistration
	if !decode(w, r, &in) {
		return
	}
	cl, choices, err := in.Client()
	var fe *oauth.FieldError
	switch {
	case errors.As(err, &fe) && fe.Missing:
		problem(w, http.StatusBadRequest, "Bad Request", fe.Error(), fe.Field)
		return
	case errors.As(err, &fe):
		problem(w, http.StatusUnprocessableEntity, "Unprocessable Content", fe.Error(), fe.Field)
		return
	}
	if cl.MerchantID == "" && cl.OrganizationID == "" {
		// A tenant's admin registers its own clients.
		cl.MerchantID, cl.OrganizationID = c.tenant.merchant, c.tenant.organization
	}
	switch {
	case c.tenant.all:
	case cl.OrganizationID != "" && !c.tenant.hasOrganization(cl.OrganizationID):
		problem(w, http.StatusForbidden, "Forbidden", "the client would be outside "+c.tenant.String()+
			"; give organization_id of the tenant's organization, or merchant_id of one of its merchants", "organization_id")
		return
	case cl.OrganizationID == "" && !c.tenant.hasMerchant(cl.MerchantID):
		problem(w, http.StatusForbidden, "Forbidden", "the client would be outside "+c.tenant.String()+
			"; give merchant_id of a merchant of the tenant", "merchant_id")
		return
	}
	ref := "merchant_id" // the record a create may not find
	if cl.OrganizationID != "" && cl.MerchantID == "" {
		ref = "organization_id"
	}
	cl, secret, err := h.dir.CreateClient(r.Context(), cl, choices)
	if err != nil {
		h.dirError(w, r, err, clientFields, ref)
		return
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditClientCreated, Subject: "client:" + cl.ID, ClientID: cl.ID,
		MerchantID: cl.MerchantID, Detail: map[string]string{"public": strconv.FormatBool(cl.Public())}})
	created(w, location("clients", cl.ID), clientWithSecret{clientOf(cl), secret})
}

func (h *Handler) client(w http.ResponseWriter, r *http.Request, c *call) (storage.Client, bool) {
	id := r.PathValue("id")
	cl, err := h.dir.Client(r.Context(), id)
	if err != nil {
		h.dirError(w, r, err, clientFields, "")
		return cl, false
	}
	if !c.tenant.seesClient(cl) {
		outside(w, "client", id, c.tenant)
		return cl, false
	}
	return cl, true
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request, c *call) {
	if cl, ok := h.client(w, r, c); ok {
		writeObject(w, http.StatusOK, clientOf(cl))
	}
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, c *call) {
	cl, ok := h.client(w, r, c)
	if !ok || !preconditionOK(w, r, clientOf(cl)) {
		return
	}
	if cl.ID == c.actor {
		problem(w, http.StatusConflict, "Conflict", "a client cannot delete itself through the admin API", "")
		return
	}
	if err := h.dir.DeleteClient(r.Context(), cl.ID); err != nil {
		h.dirError(w, r, err, clientFields, "")
		return
	}
	h.core.ForgetClient(cl.ID)
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditClientDeleted, Subject: "client:" + cl.ID, ClientID: cl.ID,
		MerchantID: cl.MerchantID})
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, c *call) {
	cl, ok := h.client(w, r, c)
	if !ok || !preconditionOK(w, r, clientOf(cl)) {
		return
	}
	cl, secret, err := h.dir.RotateClientSecret(r.Context(), cl.ID)
	if err != nil {
		h.dirError(w, r, err, clientFields, "")
		return
	}
	h.core.ForgetClient(cl.ID)
	h.audit(withCall(r, c), storage.AuditEvent{Type: oauth.AuditClientSecretRotated, Subject: "client:" + cl.ID, ClientID: cl.ID,
		MerchantID: cl.MerchantID})
	writeObject(w, http.StatusOK, clientWithSecret{clientOf(cl), secret})
}

// ---- keys

type keyView struct {
	ID            string `json:"kid"`
	Algorithm     string `json:"alg"`
	SignsFrom     string `json:"signs_from"`
	RetiredAt     string `json:"retired_at,omitempty"`
	UnpublishedAt string `json:"unpublished_at,omitempty"`
}

func keyOf(k storage.SigningKey) keyView {
	return keyView{ID: k.ID, Algorithm: string(signing.KeyAlgorithm(k)), SignsFrom: stamp(k.SignFrom),
		RetiredAt: stamp(k.RetiredAt), UnpublishedAt: stamp(k.ExpiresAt)}
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, c *call) {
	ks, err := h.store.ListSigningKeys(r.Context())
	if err != nil {
		h.fail(w, r, "list signing keys", err)
		return
	}
	out := []keyView{}
	for _, k := range signing.Sorted(ks) {
		out = append(out, keyOf(k))
	}
	paginate(w, r, out, func(v keyView) string { return v.ID })
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request, c *call) {
	in := struct {
		PublishAhead *int64   `json:"publish_ahead"`
		Algorithms   []string `json:"algorithms"`
	}{}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	ahead := 10 * time.Minute
	if in.PublishAhead != nil {
		// The Directory holds the bounds; past them the seconds are one
		// more than the bound, not a Duration that overflows.
		ahead = oauth.MaxPublishAhead + time.Second
		if s := *in.PublishAhead; s <= int64(oauth.MaxPublishAhead/time.Second) {
			ahead = time.Duration(s) * time.Second
		}
	}
	ks, err := h.dir.RotateKeys(r.Context(), ahead, in.Algorithms...)
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	out := []keyView{}
	for _, k := range ks {
		out = append(out, keyOf(k))
	}
	h.audit(withCall(r, c), storage.AuditEvent{Type: AuditKeysRotated, Subject: "keys", Detail: map[string]string{"count": strconv.Itoa(len(out))}})
	respond.JSON(w, http.StatusOK, page[keyView]{Items: out})
}

// ---- tokens

func (h *Handler) revokeTokens(w http.ResponseWriter, r *http.Request, c *call) {
	var in struct {
		AccountID  string `json:"account_id"`
		ClientID   string `json:"client_id"`
		MerchantID string `json:"merchant_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	n := 0
	for _, s := range []string{in.AccountID, in.ClientID, in.MerchantID} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		problem(w, http.StatusBadRequest, "Bad Request", "give exactly one of account_id, client_id, merchant_id", "account_id")
		return
	}
	var ev storage.AuditEvent // for the log; the Directory records the event
	var err error
	switch {
	case in.AccountID != "":
		r.SetPathValue("id", in.AccountID)
		a, ok := h.account(w, r, c, true)
		if !ok {
			return
		}
		ev = storage.AuditEvent{Type: oauth.AuditAccountTokensRevoked, Subject: "account:" + a.ID, MerchantID: a.MerchantID}
		err = h.dir.RevokeAccountTokens(r.Context(), a.ID)
	case in.ClientID != "":
		r.SetPathValue("id", in.ClientID)
		cl, ok := h.client(w, r, c)
		if !ok {
			return
		}
		ev = storage.AuditEvent{Type: oauth.AuditClientTokensRevoked, Subject: "client:" + cl.ID, ClientID: cl.ID, MerchantID: cl.MerchantID}
		err = h.dir.RevokeClientTokens(r.Context(), cl.ID)
	default:
		if !c.tenant.hasMerchant(in.MerchantID) {
			problem(w, http.StatusForbidden, "Forbidden", "merchant "+in.MerchantID+" is outside "+c.tenant.String(), "merchant_id")
			return
		}
		ev = storage.AuditEvent{Type: oauth.AuditMerchantTokensRevoked, Subject: "merchant:" + in.MerchantID, MerchantID: in.MerchantID}
		err = h.dir.RevokeMerchantTokens(r.Context(), in.MerchantID)
	}
	if err != nil {
		h.dirError(w, r, err, nil, "")
		return
	}
	h.audit(withCall(r, c), ev)
	w.WriteHeader(http.StatusNoContent)
}

// ---- audit events

// listAuditEvents answers a page of the audit events the caller's tenant
// sees (tenant.go, auditMerchants), oldest first (by id, which sorts by
// time), paged in the database: a page is the events after the page
// token's id, one more read than asked to know whether another follows.
// An organization's admin gets one query per merchant and one for the
// events that name the organization, merged.
func (h *Handler) listAuditEvents(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	size, ok := pageSize(w, q)
	if !ok {
		return
	}
	after, ok := pageAfter(w, q)
	if !ok {
		return
	}
	f := storage.AuditFilter{Type: q.Get("type"), Actor: q.Get("actor"), Subject: q.Get("subject"), ClientID: q.Get("client_id"),
		After: after, Limit: size + 1}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			problem(w, http.StatusBadRequest, "Bad Request", p.name+" must be an RFC 3339 time, such as 2025-06-30T12:00:00Z", p.name)
			return
		}
		*p.t = t
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		problem(w, http.StatusBadRequest, "Bad Request", "until must be later than since", "until")
		return
	}
	merchants, err := c.tenant.auditMerchants(q.Get("merchant_id"))
	if err != nil {
		problem(w, http.StatusForbidden, "Forbidden", "merchant "+q.Get("merchant_id")+" is outside "+c.tenant.String(), "merchant_id")
		return
	}
	filters := make([]storage.AuditFilter, 0, len(merchants)+1)
	for _, m := range merchants {
		f.MerchantID = m
		filters = append(filters, f)
	}
	if c.tenant.organization != "" && q.Get("merchant_id") == "" {
		f.MerchantID, f.OrganizationID = "", c.tenant.organization
		filters = append(filters, f)
	}
	var evs []storage.AuditEvent
	for _, f := range filters {
		got, err := h.store.ListAuditEvents(r.Context(), f)
		if err != nil {
			h.fail(w, r, "list audit events", err)
			return
		}
		evs = append(evs, got...)
	}
	if len(filters) > 1 {
		// An event of a merchant that also names its organization comes twice.
		slices.SortFunc(evs, func(a, b storage.AuditEvent) int { return strings.Compare(a.ID, b.ID) })
		evs = slices.CompactFunc(evs, func(a, b storage.AuditEvent) bool { return a.ID == b.ID })
	}
	respond.JSON(w, http.StatusOK, pageOf(evs, size, func(e storage.AuditEvent) string { return e.ID }, oauth.AuditEventAsJSON))
}
