// Package respond holds the few HTTP answer helpers every part of latchkey
// shares, so each exists once: the no-store JSON writers of token-endpoint
// answers and of RFC 9457 problems, RFC 6750's bearer challenge and the
// content policies of pages and of every other answer.
package respond

import (
	"encoding/json"
	"net/http"
	"strings"
)

// PageCSP is the Content-Security-Policy of every HTML page: nothing runs,
// styles and images come from latchkey, and no one may frame it.
const PageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'none'"

// APICSP is the Content-Security-Policy of every answer that is not a page
// (JSON, redirects): nothing renders them, but no one may frame them.
const APICSP = "frame-ancestors 'none'"

// JSON writes v as JSON with status, marked not to be stored (RFC 6749
// §5.1: answers that may carry tokens or credentials).
func JSON(w http.ResponseWriter, status int, v any) {
	write(w, status, applicationJSON, v)
}

// Problem writes v, an RFC 9457 problem details object, with status and
// marked not to be stored, as JSON does.
func Problem(w http.ResponseWriter, status int, v any) {
	write(w, status, applicationProblem, v)
}

func write(w http.ResponseWriter, status int, contentType []string, v any) {
	h := w.Header()
	// Canonical keys and shared value slices, as the server's security
	// headers: Header.Set would canonicalize and allocate each, on every
	// token and introspection answer. A slice of full capacity is copied
	// by any append, and Set replaces it.
	h["Cache-Control"] = noStore
	h["Pragma"] = noCache
	h["Content-Type"] = contentType
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var (
	noStore            = []string{"no-store"}
	noCache            = []string{"no-cache"}
	applicationJSON    = []string{"application/json"}
	applicationProblem = []string{"application/problem+json"}
)

// BearerChallenge sets RFC 6750 §3's WWW-Authenticate header for an error
// code and description, quoting the description so that a quote or
// backslash in it cannot break the header.
func BearerChallenge(w http.ResponseWriter, code, description string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+quote(code)+`", error_description="`+quote(description)+`"`)
}

// BearerScopeChallenge is BearerChallenge naming the scope a resource
// needs (RFC 6750 §3). With code "" it is the bare challenge of a request
// that sent no token, which §3.1 says carries no error code.
func BearerScopeChallenge(w http.ResponseWriter, code, description, scope string) {
	v := "Bearer "
	if code != "" {
		v += `error="` + quote(code) + `", error_description="` + quote(description) + `", `
	}
	w.Header().Set("WWW-Authenticate", v+`scope="`+quote(scope)+`"`)
}

// quote escapes a value for an HTTP quoted-string (RFC 9110 §5.6.4) and
// drops control characters, which a header may not carry.
func quote(s string) string {
	if !strings.ContainsAny(s, "\"\\") && !strings.ContainsFunc(s, isCtl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case isCtl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isCtl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }
