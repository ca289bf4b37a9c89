// Package admin serves latchkey's admin REST API under /admin/v1/: the
// merchants, organizations, accounts, clients, signing keys and token
// revocation the CLI manages, over HTTP, for a back office.
//
// Every rule about the records is the oauth.Directory's; this package
// only authenticates the caller, applies its tenant (tenant.go, the one
// place that decides what a tenant-bound admin may see and change),
// translates JSON to Directory calls and back, and words errors as RFC 9457
// problems. The OpenAPI document it serves (api/openapi.yaml) describes
// every request and answer, and the tests validate them against it.
package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/api"
	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Scope is the scope an access token needs for the admin API.
const Scope = "latchkey:admin"

// Prefix is where the API is served.
const Prefix = "/admin/v1"

// Page sizes of the lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Options are what the API is built from.
type Options struct {
	Core      *oauth.Server
	Directory *oauth.Directory
	// Store serves what the Directory does not hold: signing keys.
	Store  storage.Storage
	Keys   *secrets.Keys
	Logger *slog.Logger
}

// Handler serves the admin API.
type Handler struct {
	core    *oauth.Server
	dir     *oauth.Directory
	store   storage.Storage
	keys    *secrets.Keys
	log     *slog.Logger
	openapi []byte // the OpenAPI document as JSON
}

// New builds the API.
func New(o Options) (*Handler, error) {
	if o.Core == nil || o.Directory == nil || o.Store == nil || o.Keys == nil {
		return nil, fmt.Errorf("admin: Core, Directory, Store and Keys are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	doc, err := OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	return &Handler{core: o.Core, dir: o.Directory, store: o.Store, keys: o.Keys, log: o.Logger, openapi: doc}, nil
}

// OpenAPIJSON is the embedded OpenAPI document (api/openapi.yaml) as JSON.
func OpenAPIJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(api.OpenAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("admin: openapi.yaml: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("admin: openapi.yaml as JSON: %w", err)
	}
	return b, nil
}

// Routes registers the API on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(h.openapi)
	})
	platform, tenant := true, false
	h.handle(mux, "GET /merchants", tenant, h.listMerchants)
	h.handle(mux, "POST /merchants", platform, h.createMerchant)
	h.handle(mux, "GET /merchants/{id}", tenant, h.getMerchant)
	h.handle(mux, "DELETE /merchants/{id}", platform, h.deleteMerchant)
	h.handle(mux, "GET /organizations", tenant, h.listOrganizations)
	h.handle(mux, "POST /organizations", platform, h.createOrganization)
	h.handle(mux, "GET /organizations/{id}", tenant, h.getOrganization)
	h.handle(mux, "DELETE /organizations/{id}", platform, h.deleteOrganization)
	h.handle(mux, "GET /accounts", tenant, h.listAccounts)
	h.handle(mux, "POST /accounts", tenant, h.createAccount)
	h.handle(mux, "GET /accounts/{id}", tenant, h.getAccount)
	h.handle(mux, "DELETE /accounts/{id}", tenant, h.deleteAccount)
	h.handle(mux, "POST /accounts/{id}/password", tenant, h.setPassword)
	h.handle(mux, "POST /accounts/{id}/disable", tenant, h.disable(true))
	h.handle(mux, "POST /accounts/{id}/enable", tenant, h.disable(false))
	h.handle(mux, "PATCH /accounts/{id}", tenant, h.patchAccount)
	h.handle(mux, "GET /accounts/{id}/consents", tenant, h.listConsents)
	h.handle(mux, "DELETE /accounts/{id}/consents/{client_id}", tenant, h.withdrawConsent)
	h.handle(mux, "GET /clients", tenant, h.listClients)
	h.handle(mux, "POST /clients", tenant, h.createClient)
	h.handle(mux, "GET /clients/{id}", tenant, h.getClient)
	h.handle(mux, "DELETE /clients/{id}", tenant, h.deleteClient)
	h.handle(mux, "POST /clients/{id}/secret", tenant, h.rotateSecret)
	h.handle(mux, "PATCH /clients/{id}", tenant, h.patchClient)
	h.handle(mux, "GET /keys", platform, h.listKeys)
	h.handle(mux, "POST /keys/rotate", platform, h.rotateKeys)
	h.handle(mux, "POST /tokens/revoke", tenant, h.revokeTokens)
	h.handle(mux, "GET /audit-events", tenant, h.listAuditEvents)
	// Anything else under the prefix is a problem, not the pages' 404.
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			problem(w, http.StatusMethodNotAllowed, "Method Not Allowed",
				r.Method+" is not a method of "+r.URL.Path+"; it takes "+strings.Join(allow, ", "), "")
			return
		}
		problem(w, http.StatusNotFound, "Not Found", "no such admin API resource: "+r.URL.Path, "")
	})
}

// allowed lists the methods r's path is routed for besides the catch-all.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := *r
		probe.Method = m
		if _, pattern := mux.Handler(&probe); pattern != Prefix+"/" && pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

// call is one authenticated request: who makes it and for which tenant.
type call struct {
	actor  string // the admin client's id
	tenant *scope
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call)

// handle registers fn behind the bearer check; platformOnly refuses
// tenant-bound admins with 403.
func (h *Handler) handle(mux *http.ServeMux, pattern string, platformOnly bool, fn handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		c, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		if platformOnly && !c.tenant.all {
			problem(w, http.StatusForbidden, "Forbidden", "this call is for platform administrators only; "+
				"the token's client is bound to "+c.tenant.String(), "")
			return
		}
		// The Directory records its audit events with this actor.
		r = r.WithContext(oauth.WithActor(r.Context(), "client:"+c.actor))
		fn(w, r, c)
	})
}

// authenticate checks the bearer token and its scope, and works out the
// caller's tenant; it answers the request itself when it fails.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*call, bool) {
	token, ok := bearer.Token(r)
	if !ok {
		respond.BearerScopeChallenge(w, "", "", Scope)
		problem(w, http.StatusUnauthorized, "Unauthorized", "a bearer access token with the scope "+Scope+" is required", "")
		return nil, false
	}
	acc, oerr := h.core.CheckAccess(r.Context(), token)
	if oerr != nil {
		if oerr.Status >= 500 {
			w.Header().Set("Retry-After", "1")
			problem(w, oerr.Status, "Service Unavailable", "the token could not be checked; try again", "")
			return nil, false
		}
		respond.BearerChallenge(w, oauth.ErrInvalidToken, "the access token is missing, unknown, expired or revoked")
		problem(w, http.StatusUnauthorized, "Unauthorized", "the access token is unknown, expired or revoked", "")
		return nil, false
	}
	if !acc.HasAnyScope(Scope) {
		respond.BearerScopeChallenge(w, oauth.ErrInsufficientScope, "the access token lacks the scope "+Scope, Scope)
		problem(w, http.StatusForbidden, "Forbidden", "the access token lacks the scope "+Scope, "")
		return nil, false
	}
	sc, err := h.scopeOf(r.Context(), acc)
	if errors.Is(err, storage.ErrNotFound) { // its client was deleted since the check
		respond.BearerChallenge(w, oauth.ErrInvalidToken, "the access token's client no longer exists")
		problem(w, http.StatusUnauthorized, "Unauthorized", "the access token's client no longer exists", "")
		return nil, false
	}
	if errors.Is(err, errNoTenant) {
		problem(w, http.StatusForbidden, "Forbidden", err.Error(), "")
		return nil, false
	}
	if err != nil {
		h.fail(w, r, "work out the caller's tenant", err)
		return nil, false
	}
	return &call{actor: acc.ClientID, tenant: sc}, true
}

// AuditKeysRotated is the event type of POST /keys/rotate (detail: count),
// which the Directory records (oauth.Directory.RotateKeys).
const AuditKeysRotated = oauth.AuditKeysRotated

// audit logs a change made through the API ("admin change", with the
// actor and tenant of the call in ctx). It records nothing: the Directory
// records the events of the changes it makes, with the actor ctx carries
// (oauth.ActorFrom: client:<admin client id>). ev names ids only: never
// a secret.
func (h *Handler) audit(ctx context.Context, ev storage.AuditEvent) {
	args := []any{"event", ev.Type, "subject", ev.Subject}
	if c, ok := ctx.Value(actorKey{}).(*call); ok {
		args = append(args, "actor", c.actor, "tenant", c.tenant.String())
	}
	if ev.MerchantID != "" {
		args = append(args, "merchant_id", ev.MerchantID)
	}
	for _, k := range slices.Sorted(maps.Keys(ev.Detail)) {
		args = append(args, k, ev.Detail[k])
	}
	h.log.InfoContext(ctx, "admin change", args...)
}

type actorKey struct{}

// withCall puts c in the context audit reads the actor from.
func withCall(r *http.Request, c *call) context.Context {
	return context.WithValue(r.Context(), actorKey{}, c)
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the request member at fault.
	Field string `json:"field,omitempty"`
}

// WriteError writes e, a refusal the server makes before the API's
// handlers run (a body too large or compressed), as the API answers: an
// RFC 9457 problem with e's status and description.
func WriteError(w http.ResponseWriter, _ *http.Request, e *oauth.Error) {
	oauth.SetErrorHeaders(w, e)
	problem(w, e.Status, http.StatusText(e.Status), e.Description, "")
}

// problem writes an RFC 9457 problem.
func problem(w http.ResponseWriter, status int, title, detail, field string) {
	respond.Problem(w, status, Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Field: field})
}

// fail answers an unexpected error and logs it; the caller sees no
// internals. An error that is no rule of the API's is the database's (a
// timeout, a lost connection), never the caller's: 503 with Retry-After,
// to be tried again.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.ErrorContext(r.Context(), "admin API: "+what, "err", err)
	w.Header().Set("Retry-After", "1")
	problem(w, http.StatusServiceUnavailable, "Service Unavailable", "the database did not answer; try again (see the server log)", "")
}

// fieldNames are the API's names for the CLI flags the Directory's
// errors name.
var fieldNames = []struct{ flag, field string }{
	{"--post-logout-redirect-uri", "post_logout_redirect_uris"},
	{"--id-token-alg", "id_token_signed_response_alg"},
	{"--organization", "organization_id"},
	{"--publish-ahead", "publish_ahead"},
	{"--alg", "algorithms"},
	{"--introspect", "introspect"},
	{"--merchant", "merchant_id"},
	{"--username", "username"},
	{"--member", "memberships"},
	{"--token-format", "token_format"},
	{"--kind", "kind"},
	{"--card", "printed_card_number"},
	{"--name", "name"},
	{"--id", "id"},
}

// clientRuleFields name the field of a client rule ValidateClient words
// without a flag.
var clientRuleFields = []struct{ text, field string }{
	{"grant type", "grant_types"},
	{"client_credentials grant", "token_endpoint_auth_method"},
	{"client_credentials refresh", "grant_types"},
	{"default scope", "default_scope"},
	{"scope", "scope"},
	{"redirect", "redirect_uris"},
	{"lifetimes", "access_token_ttl"},
	{"account kind", "account_kind"},
	{"bound to a merchant", "merchant_id"},
	{"access token format", "token_format"},
	{"dialect", "dialect"},
	{"audience", "audience"},
	{"client id", "client_id"},
}

// apiWords rewrites a Directory sentence in the API's names; rename maps
// a generic field (id, name) to the resource's.
func apiWords(msg string, rename map[string]string) (string, string) {
	field := ""
	first := len(msg) + 1
	for _, f := range fieldNames {
		name := f.field
		if n, ok := rename[name]; ok {
			name = n
		}
		if i := strings.Index(msg, f.flag); i >= 0 {
			if i < first {
				first, field = i, name
			}
			msg = strings.ReplaceAll(msg, f.flag, name)
		}
	}
	if field == "" {
		for _, f := range clientRuleFields {
			if rename["client"] != "" && strings.Contains(msg, f.text) {
				field = f.field
				break
			}
		}
	}
	if field == "" && strings.Contains(msg, "password") {
		field = "password"
	}
	return msg, field
}

// dirError answers an error of the Directory: 404 for an unknown id,
// 409 for a duplicate or a record still referred to, 422 for a broken
// rule (naming the field); rename
// maps its generic field names to the resource's, and refField is the
// field that names a referenced record a create did not find (then 422).
func (h *Handler) dirError(w http.ResponseWriter, r *http.Request, err error, rename map[string]string, refField string) {
	msg, field := apiWords(err.Error(), rename)
	switch {
	case errors.Is(err, oauth.ErrRejected):
		problem(w, http.StatusUnprocessableEntity, "Unprocessable Content", msg, field)
	case errors.Is(err, storage.ErrNotFound) && refField != "":
		problem(w, http.StatusUnprocessableEntity, "Unprocessable Content", msg, refField)
	case errors.Is(err, storage.ErrNotFound):
		problem(w, http.StatusNotFound, "Not Found", msg, "")
	case errors.Is(err, storage.ErrAlreadyExists), errors.Is(err, storage.ErrInUse):
		problem(w, http.StatusConflict, "Conflict", msg, "")
	default:
		h.fail(w, r, "directory call", err)
	}
}

// outside answers 403 for id of kind, which exists outside the caller's
// tenant (the contract's "wrong tenant: 403"; an unknown id is 404).
func outside(w http.ResponseWriter, kind, id string, t *scope) {
	problem(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("%s %q is outside %s", kind, id, t), "")
}

// decode reads a JSON body into v, refusing unknown members; a failure
// is answered with 400 naming the field when it can.
func decode(w http.ResponseWriter, r *http.Request, v any) bool { return decodeBody(w, r, v, nil) }

// decodePatch reads a PATCH body into v as decode does; a member of fixed,
// one that cannot change, is 422 naming it with fixed's way to change it
// instead, and a body naming no member is 400.
func decodePatch(w http.ResponseWriter, r *http.Request, v any, fixed map[string]string) bool {
	return decodeBody(w, r, v, fixed)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, fixed map[string]string) bool {
	if ct := strings.ToLower(r.Header.Get("Content-Type")); ct != "" && !strings.HasPrefix(ct, "application/json") &&
		!strings.HasPrefix(ct, "application/merge-patch+json") {
		problem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "send the body as application/json", "")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err == nil && len(body) > maxBody {
		problem(w, http.StatusRequestEntityTooLarge, "Content Too Large", fmt.Sprintf("the body is over %d KiB", maxBody>>10), "")
		return false
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err = dec.Decode(v); err == nil && dec.More() {
			err = errors.New("the body holds more than one JSON value")
		}
	}
	if err == nil && fixed != nil {
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) == nil && len(members) == 0 {
			err = errors.New("the body names no member to change")
		}
	}
	if err == nil {
		return true
	}
	field := ""
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field = te.Field
		err = fmt.Errorf("%s must be a JSON %s", te.Field, jsonType(te.Type.Kind().String()))
	} else if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		field = strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`)
		if how, ok := fixed[field]; ok {
			problem(w, http.StatusUnprocessableEntity, "Unprocessable Content", field+" cannot be changed; "+how, field)
			return false
		}
		err = fmt.Errorf("unknown member %q", field)
	} else if errors.Is(err, io.EOF) {
		err = errors.New("the body must be a JSON object")
	}
	problem(w, http.StatusBadRequest, "Bad Request", err.Error(), field)
	return false
}

func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice":
		return "array"
	case kind == "struct", kind == "map":
		return "object"
	}
	return kind
}

// required answers 400 when a required member is missing.
func required(w http.ResponseWriter, name string, ok bool) bool {
	if !ok {
		problem(w, http.StatusBadRequest, "Bad Request", name+" is required", name)
	}
	return ok
}

// etag is the entity tag of an object: a hash of its JSON.
func etag(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// writeObject answers one object with its ETag.
func writeObject(w http.ResponseWriter, status int, v any) {
	tagged := v
	if c, ok := v.(clientWithSecret); ok {
		tagged = c.clientView // the tag GET gives, so If-Match works; never a hash of the secret
	}
	w.Header().Set("ETag", etag(tagged))
	respond.JSON(w, status, v)
}

// preconditionOK honours If-Match against the object's current state;
// it answers 412 itself when the object changed.
func preconditionOK(w http.ResponseWriter, r *http.Request, current any) bool {
	if etagMatches(r.Header.Get("If-Match"), etag(current)) {
		return true
	}
	stale(w)
	return false
}

// etagMatches reports whether an If-Match header value (none matches
// anything) names tag.
func etagMatches(ifMatch, tag string) bool {
	if ifMatch == "" {
		return true
	}
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// stale answers 412: If-Match no longer names the object's state.
func stale(w http.ResponseWriter) {
	problem(w, http.StatusPreconditionFailed, "Precondition Failed",
		"the object changed since it was read (If-Match does not match its ETag); read it again", "")
}

// page is a page of a list.
type page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// pageSize reads page_size (DefaultPageSize when absent); it answers 400
// itself when it is out of range.
func pageSize(w http.ResponseWriter, q url.Values) (int, bool) {
	s := q.Get("page_size")
	if s == "" {
		return DefaultPageSize, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize {
		problem(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("page_size must be 1 to %d", MaxPageSize), "page_size")
		return 0, false
	}
	return n, true
}

// pageAfter reads page_token: the id the page starts after ("" for the
// first page); it answers 400 itself for a token this API did not give.
func pageAfter(w http.ResponseWriter, q url.Values) (string, bool) {
	tok := q.Get("page_token")
	if tok == "" {
		return "", true
	}
	after, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(after) == 0 {
		problem(w, http.StatusBadRequest, "Bad Request", "page_token is not one this API gave", "page_token")
		return "", false
	}
	return string(after), true
}

// pageToken is the page_token of the page after the one ending with id.
func pageToken(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// paginate answers one page of items (sorted by id) after page_token.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T, id func(T) string) {
	q := r.URL.Query()
	size, ok := pageSize(w, q)
	if !ok {
		return
	}
	after, ok := pageAfter(w, q)
	if !ok {
		return
	}
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(items, after, func(it T, s string) int { return strings.Compare(id(it), s) })
		if start < len(items) && id(items[start]) == after {
			start++
		}
	}
	respond.JSON(w, http.StatusOK, pageOf(items[start:], size, id, func(v T) T { return v }))
}

// pageOf is the page of rows, which start after the previous page and
// hold at least one more than size when another page follows (a database
// list reads size+1 rows): the first size of them as view shows them,
// and the token of the next page when there is one.
func pageOf[R, V any](rows []R, size int, id func(R) string, view func(R) V) page[V] {
	p := page[V]{Items: make([]V, 0, min(size, len(rows)))}
	for _, row := range rows[:min(size, len(rows))] {
		p.Items = append(p.Items, view(row))
	}
	if len(rows) > size {
		p.NextPageToken = pageToken(id(rows[size-1]))
	}
	return p
}

// created answers 201 with the new object's Location.
func created(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	writeObject(w, http.StatusCreated, v)
}
