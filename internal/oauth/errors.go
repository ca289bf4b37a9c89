package oauth

import (
	"fmt"
	"net/http"
	"time"
)

// The error codes of RFC 6749 §5.2, RFC 7009 and RFC 8628 that latchkey uses.
const (
	ErrInvalidRequest       = "invalid_request"
	ErrInvalidClient        = "invalid_client"
	ErrInvalidGrant         = "invalid_grant"
	ErrUnauthorizedClient   = "unauthorized_client"
	ErrUnsupportedGrantType = "unsupported_grant_type"
	ErrInvalidScope         = "invalid_scope"
	ErrUnsupportedTokenType = "unsupported_token_type"
	ErrServerError          = "server_error"
	ErrTemporarilyUnavail   = "temporarily_unavailable"
)

// Error is a protocol error: what the client is told, and how.
type Error struct {
	Code        string        // RFC 6749 error code
	Description string        // a human sentence naming the problem
	Status      int           // HTTP status
	RetryAfter  time.Duration // sets Retry-After when non-zero
	// BasicChallenge asks for a WWW-Authenticate: Basic header (RFC 6749 §5.2:
	// invalid_client when the client tried HTTP Basic).
	BasicChallenge bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}

func invalidRequest(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ErrInvalidRequest, format, args...)
}

func invalidGrant(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ErrInvalidGrant, format, args...)
}

func invalidScope(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ErrInvalidScope, format, args...)
}

func unauthorizedClient(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ErrUnauthorizedClient, format, args...)
}

// serverError hides the cause from the client; the caller logs it.
func serverError() *Error {
	return newError(http.StatusInternalServerError, ErrServerError, "the server could not complete the request; try again")
}

// busy tells the client to come back later.
func busy(retry time.Duration) *Error {
	e := newError(http.StatusServiceUnavailable, ErrTemporarilyUnavail, "the server is busy; retry in %d seconds", secondsCeil(retry))
	e.RetryAfter = retry
	return e
}

func secondsCeil(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }
