package server

import (
	"net/http"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/admin"
	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/oauth"
)

// refuseUnreadable answers, in JSON as the endpoints do, the requests no
// handler can read: a body declared larger than MaxRequestBody, a body in
// a content coding latchkey does not decode, and a method a JSON endpoint
// does not take. A dialect's endpoint answers
// them in its dialect's shape (shapes, by the route's pattern), and the
// admin API as RFC 9457 problems.
func refuseUnreadable(mux *http.ServeMux, shapes dialect.Shapes) http.Handler {
	refuse := func(w http.ResponseWriter, r *http.Request, pattern string, e *oauth.Error) {
		if write, ok := shapes[pattern]; ok {
			write(w, r, e)
			return
		}
		if strings.HasPrefix(r.URL.Path, admin.Prefix+"/") {
			admin.WriteError(w, r, e)
			return
		}
		oauth.WriteError(w, e)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxRequestBody {
			_, pattern := mux.Handler(r)
			refuse(w, r, pattern, oauth.Errorf(http.StatusRequestEntityTooLarge, oauth.ErrInvalidRequest, "the request body is too large"))
			return
		}
		if r.ContentLength != 0 && !identityEncoded(r.Header.Values("Content-Encoding")) {
			// Read as a form, a compressed body would have no parameters and
			// the client would be blamed for a missing grant_type instead.
			w.Header().Set("Accept-Encoding", "identity") // RFC 7694 §3: the codings this server accepts
			_, pattern := mux.Handler(r)
			refuse(w, r, pattern, oauth.Errorf(http.StatusUnsupportedMediaType, oauth.ErrInvalidRequest,
				"the request body has a Content-Encoding this server does not decode; send it uncompressed"))
			return
		}
		if r.Method != http.MethodPost {
			if pattern, ok := postOnly(mux, r); ok {
				w.Header().Set("Allow", http.MethodPost)
				refuse(w, r, pattern, oauth.Errorf(http.StatusMethodNotAllowed, oauth.ErrInvalidRequest,
					"this endpoint takes only POST requests"))
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// identityEncoded reports whether Content-Encoding values name no coding
// but identity.
func identityEncoded(values []string) bool {
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return false
			}
		}
	}
	return true
}

// probeMethods are the methods a path is tried with to learn what it allows.
var probeMethods = []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete}

// postOnly reports whether r's path is routed for POST and nothing else,
// and the POST route's pattern: the token, introspection and revocation
// endpoints and the dialects' token endpoints, whose wrong methods
// ServeMux would answer in plain text. Pages, which take GET, keep
// ServeMux's answers. Only requests that are not POST pay for the lookups,
// never the token endpoint's traffic.
func postOnly(mux *http.ServeMux, r *http.Request) (string, bool) {
	if _, pattern := mux.Handler(r); pattern != "" {
		return "", false // routed for this method
	}
	probe := *r
	probe.Method = http.MethodPost
	_, post := mux.Handler(&probe)
	if post == "" {
		return "", false // not found, or routed for other methods only
	}
	for _, m := range probeMethods {
		probe.Method = m
		if _, pattern := mux.Handler(&probe); pattern != "" {
			return "", false
		}
	}
	return post, true
}
