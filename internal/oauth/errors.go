package oauth

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/bearer"
)

// The error codes latchkey answers: RFC 6749 §4.1.2.1 and §5.2, RFC 6750
// §3.1, RFC 7009, RFC 8628 and OpenID Connect's prompt=none errors. Code
// outside this file names them by these constants, never by literal.
const (
	ErrInvalidRequest           = "invalid_request"
	ErrInvalidClient            = "invalid_client"
	ErrInvalidGrant             = "invalid_grant"
	ErrUnauthorizedClient       = "unauthorized_client"
	ErrUnsupportedGrantType     = "unsupported_grant_type"
	ErrInvalidScope             = "invalid_scope"
	ErrUnsupportedTokenType     = "unsupported_token_type"
	ErrServerError              = "server_error"
	ErrTemporarilyUnavail       = bearer.CodeUnavailable
	ErrAccessDenied             = "access_denied"
	ErrUnsupportedResponseType  = "unsupported_response_type"
	ErrLoginRequired            = "login_required"
	ErrConsentRequired          = "consent_required"
	ErrAccountSelectionRequired = "account_selection_required"
	ErrRequestNotSupported      = "request_not_supported"
	ErrRequestURINotSupported   = "request_uri_not_supported"
	ErrRegistrationNotSupported = "registration_not_supported"
	ErrInvalidToken             = bearer.CodeInvalidToken
	ErrInsufficientScope        = bearer.CodeInsufficientScope
)

// Error is a protocol error: what the client is told, and how. Build one
// with the constructors below; dialects change only how it is encoded.
type Error struct {
	Code        string        // an error code constant above
	Description string        // a human sentence naming the problem
	Status      int           // HTTP status
	RetryAfter  time.Duration // sets Retry-After when non-zero
	// BasicChallenge asks for a WWW-Authenticate: Basic header (RFC 6749 §5.2:
	// invalid_client when the client tried HTTP Basic).
	BasicChallenge bool
	// Param names the request parameter at fault, when one is, for
	// dialects whose errors list fields (Flexiti's field_errors).
	Param string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Sentence is the description as a human sentence (capitalised, with a
// full stop), for dialects whose errors carry a message for people. A
// first word that names a parameter (grant_type) keeps its spelling.
func (e *Error) Sentence() string {
	s := e.Description
	if s == "" {
		return s
	}
	b := []byte(s)
	first, _, _ := strings.Cut(s, " ")
	if b[0] >= 'a' && b[0] <= 'z' && !strings.ContainsAny(first, "_-\"0123456789") {
		b[0] -= 'a' - 'A'
	}
	if b[len(b)-1] != '.' {
		b = append(b, '.')
	}
	return string(b)
}

// For names the parameter at fault and returns e.
func (e *Error) For(param string) *Error {
	e.Param = param
	return e
}

// Errorf builds an error with any status and code; prefer the named constructors.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}

// InvalidRequest is 400 invalid_request: a parameter is missing, repeated or malformed.
func InvalidRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, ErrInvalidRequest, format, args...)
}

// InvalidClient is 401 invalid_client; basic asks for a Basic challenge (the client tried HTTP Basic).
func InvalidClient(basic bool, format string, args ...any) *Error {
	e := Errorf(http.StatusUnauthorized, ErrInvalidClient, format, args...)
	e.BasicChallenge = basic
	return e
}

// InvalidGrant is 400 invalid_grant: a code, refresh token or password is not valid.
func InvalidGrant(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, ErrInvalidGrant, format, args...)
}

// UnauthorizedClient is 400 unauthorized_client: the client may not do this.
func UnauthorizedClient(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, ErrUnauthorizedClient, format, args...)
}

// UnsupportedGrantType is 400 unsupported_grant_type.
func UnsupportedGrantType(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, ErrUnsupportedGrantType, format, args...)
}

// InvalidScope is 400 invalid_scope.
func InvalidScope(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, ErrInvalidScope, format, args...)
}

// UnsupportedResponseType is 400 unsupported_response_type.
func UnsupportedResponseType(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, ErrUnsupportedResponseType, format, args...)
}

// AccessDenied is 403 access_denied: the person or a rule refused the request.
func AccessDenied(format string, args ...any) *Error {
	return Errorf(http.StatusForbidden, ErrAccessDenied, format, args...)
}

// InvalidToken is RFC 6750's 401 for a missing, unknown, expired or revoked bearer token.
func InvalidToken(format string, args ...any) *Error {
	return Errorf(http.StatusUnauthorized, ErrInvalidToken, format, args...)
}

// InsufficientScope is RFC 6750's 403 for a token without the scope a call needs.
func InsufficientScope(scopes ...string) *Error {
	return Errorf(http.StatusForbidden, ErrInsufficientScope, "the access token lacks the scope this call needs: %s", strings.Join(scopes, " or "))
}

// Forbidden is RFC 6750's 403 insufficient_scope for a token that may not reach this resource.
func Forbidden(format string, args ...any) *Error {
	return Errorf(http.StatusForbidden, ErrInsufficientScope, format, args...)
}

// PromptNone is the error for prompt=none when a person would be needed;
// code is ErrLoginRequired, ErrConsentRequired or ErrAccountSelectionRequired.
func PromptNone(code, what string) *Error {
	return Errorf(http.StatusBadRequest, code, "%s, but prompt=none was asked", what)
}

// ServerError is 500 server_error; it hides the cause, which the caller logs.
func ServerError() *Error {
	return Errorf(http.StatusInternalServerError, ErrServerError, "the server could not complete the request; try again")
}

// Unavailable is 503 temporarily_unavailable with Retry-After: come back later.
func Unavailable(retry time.Duration, format string, args ...any) *Error {
	e := Errorf(http.StatusServiceUnavailable, ErrTemporarilyUnavail, format, args...)
	e.RetryAfter = retry
	return e
}

// busy tells the client the server is overloaded.
func busy(retry time.Duration) *Error {
	return Unavailable(retry, "the server is busy; retry in %d seconds", secondsCeil(retry))
}

func secondsCeil(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }
