// Package respond holds the few HTTP answer helpers every part of latchkey
// shares, so each exists once: the no-store JSON writer of token-endpoint
// answers, RFC 6750's bearer challenge and the pages' content policy.
package respond

import (
	"encoding/json"
	"net/http"
	"strings"
)

// PageCSP is the Content-Security-Policy of every HTML page: nothing runs,
// styles and images come from latchkey, and no one may frame it.
const PageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'none'"

// JSON writes v as JSON with status, marked not to be stored (RFC 6749
// §5.1: answers that may carry tokens or credentials).
func JSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	// Canonical keys and shared value slices, as the server's security
	// headers: Header.Set would canonicalize and allocate each, on every
	// token and introspection answer. A slice of full capacity is copied
	// by any append, and Set replaces it.
	h["Cache-Control"] = noStore
	h["Pragma"] = noCache
	h["Content-Type"] = applicationJSON
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var (
	noStore         = []string{"no-store"}
	noCache         = []string{"no-cache"}
	applicationJSON = []string{"application/json"}
)

// BearerChallenge sets RFC 6750 §3's WWW-Authenticate header for an error
// code and description, quoting the description so that a quote or
// backslash in it cannot break the header.
func BearerChallenge(w http.ResponseWriter, code, description string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+quote(code)+`", error_description="`+quote(description)+`"`)
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
