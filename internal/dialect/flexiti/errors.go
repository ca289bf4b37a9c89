package flexiti

import (
	"net/http"
	"slices"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
)

// Flexiti's own error codes, from its public error table; every other code
// an answer carries is one of the core's (internal/oauth/errors.go).
const (
	// ErrAuthenticationFailure is a merchant login whose merchant username or password is wrong.
	ErrAuthenticationFailure = "authentication_failure"
	// ErrWrongInputs is malformed input; field_errors names the parameter when the core knows it.
	ErrWrongInputs = "wrong_inputs"
)

// paramReference is the x-reference-id header as the parameter at fault:
// the seed lists it among the request parameters.
const paramReference = "x-reference-id"

// place is where the dialect answers: Flexiti's table tells a few core
// errors differently at the token endpoint and at the merchant login.
type place int

const (
	atGateway place = iota // a gateway in front of the POS API (the exported WriteError)
	atToken                // POST …/oauth/token
	atLogin                // POST …/client-id/{client_id}/merchants/login
)

// anywhere is every place, for rows that do not depend on it.
var anywhere = []place{atGateway, atToken, atLogin}

// row is one line of the error table: the core errors it covers and how
// Flexiti tells them.
type row struct {
	code     string   // the core's error code
	params   []string // the parameters at fault it covers; nil covers every error of code
	statuses []int    // the core statuses it covers; nil covers every one
	at       []place  // where it applies
	status   int      // the answer's status
	answer   string   // the answer's error code
	fields   bool     // list the parameter at fault in field_errors
}

// table is Flexiti's public error table applied to the core's errors; the
// first matching row wins. A core error no row matches keeps its RFC status
// and code (invalid_scope, invalid_grant at the token endpoint,
// unauthorized_client, access_denied, server_error, temporarily_unavailable).
var table = []row{
	// Wrong or missing client credentials are 400, not RFC 6749's 401.
	{code: oauth.ErrInvalidClient, at: anywhere, status: http.StatusBadRequest, answer: oauth.ErrInvalidClient},
	// An invalid grant type, or a malformed grant_type or x-reference-id,
	// is a bad request rather than wrong inputs.
	{code: oauth.ErrUnsupportedGrantType, at: anywhere, status: http.StatusBadRequest, answer: oauth.ErrInvalidRequest},
	{code: oauth.ErrInvalidRequest, params: []string{"grant_type", paramReference}, at: anywhere,
		status: http.StatusBadRequest, answer: oauth.ErrInvalidRequest},
	// A request refused for its method, size or coding is no input of
	// Flexiti's table: the same answer wherever it is refused (the server
	// before the endpoint, or the endpoint reading its body), status kept.
	{code: oauth.ErrInvalidRequest, statuses: []int{http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType}, at: anywhere, answer: oauth.ErrInvalidRequest},
	// A gateway reads no inputs: its only invalid_request is a bearer token
	// sent the wrong way (RFC 6750 §3.1), for which Flexiti's table has no row.
	{code: oauth.ErrInvalidRequest, at: []place{atGateway}, status: http.StatusBadRequest, answer: oauth.ErrInvalidRequest},
	{code: oauth.ErrInvalidRequest, at: []place{atToken, atLogin}, status: http.StatusConflict, answer: ErrWrongInputs, fields: true},
	// The core answers a wrong username or password with invalid_grant.
	{code: oauth.ErrInvalidGrant, at: []place{atLogin}, status: http.StatusConflict, answer: ErrAuthenticationFailure},
	{code: oauth.ErrInvalidToken, at: anywhere, status: http.StatusUnauthorized, answer: oauth.ErrInvalidToken},
	{code: oauth.ErrInsufficientScope, at: anywhere, status: http.StatusForbidden, answer: oauth.ErrInsufficientScope},
}

// keptStatuses are core statuses no row overrides, because each tells the
// client what to do next: use another method (405, with Allow), send less
// (413) or uncompressed (415), slow down (429, with Retry-After), come back
// later (503 with Retry-After). A gateway's 502 is server_error, which no
// row matches.
var keptStatuses = []int{http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
	http.StatusTooManyRequests, http.StatusServiceUnavailable}

// decide is the one mapping from a core error to Flexiti's status, code and
// field_errors; every answer of the dialect goes through it.
func decide(at place, e *oauth.Error) (status int, code string, fields []fieldError) {
	status, code = e.Status, e.Code
	i := slices.IndexFunc(table, func(r row) bool {
		return r.code == e.Code && slices.Contains(r.at, at) && (r.params == nil || slices.Contains(r.params, e.Param)) &&
			(r.statuses == nil || slices.Contains(r.statuses, e.Status))
	})
	if i < 0 {
		return status, code, nil
	}
	r := table[i]
	if !slices.Contains(keptStatuses, e.Status) {
		status = r.status
	}
	if r.fields && e.Param != "" {
		// The submitted value is never echoed: it may be a password.
		fields = []fieldError{{Param: e.Param, Msg: e.Sentence(), Value: ""}}
	}
	return status, r.answer, fields
}

// errorBody is Flexiti's error shape; error_description repeats message
// for RFC 6749 clients.
type errorBody struct {
	URL         string       `json:"url"`
	Message     string       `json:"message"`
	Error       string       `json:"error"`
	Description string       `json:"error_description"`
	FieldErrors []fieldError `json:"field_errors,omitempty"`
}

// fieldError names one parameter at fault.
type fieldError struct {
	Param string `json:"param"`
	Msg   string `json:"msg"`
	Value string `json:"value"`
}

// WriteError writes a core error in Flexiti's shape as a gateway in front
// of the POS API answers it; the dialect's own endpoints use writeError.
func WriteError(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	writeError(w, r, atGateway, e)
}

// writeError writes e as Flexiti answers it at place at, with the headers
// the core asks for (Basic challenge, Retry-After) and RFC 6750's bearer
// challenge for a refused token.
func writeError(w http.ResponseWriter, r *http.Request, at place, e *oauth.Error) {
	status, code, fields := decide(at, e)
	oauth.SetErrorHeaders(w, e)
	if code == oauth.ErrInvalidToken || code == oauth.ErrInsufficientScope {
		respond.BearerChallenge(w, code, e.Description)
	}
	respond.JSON(w, status, errorBody{URL: r.URL.Path, Message: e.Sentence(), Error: code, Description: e.Sentence(), FieldErrors: fields})
}
