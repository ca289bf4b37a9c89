package oauth

import (
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/respond"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Mux is where routes are registered: an *http.ServeMux, or a wrapper that
// also notes each pattern (the dialect registry's).
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Routes registers the standard OAuth 2.0 endpoints on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth2/token", s.handleToken)
	mux.HandleFunc("POST /oauth2/introspect", s.handleIntrospect)
	mux.HandleFunc("POST /oauth2/revoke", s.handleRevoke)
	mux.HandleFunc("POST /oauth2/device_authorization", s.handleDeviceAuthorization)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleMetadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleMetadata)
	mux.HandleFunc("GET /oauth2/userinfo", s.handleUserinfo)
	mux.HandleFunc("POST /oauth2/userinfo", s.handleUserinfo)
	mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
}

// TokenResponse is the RFC 6749 §5.1 success body.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// Response is the standard encoding of a result.
func (r TokenResult) Response() TokenResponse {
	return TokenResponse{AccessToken: r.AccessToken, TokenType: "Bearer", ExpiresIn: r.ExpiresInSeconds(),
		RefreshToken: r.RefreshToken, Scope: strings.Join(r.Scopes, " "), IDToken: r.IDToken}
}

// ExpiresInSeconds is expires_in, rounded up; 0 when the token never expires.
func (r TokenResult) ExpiresInSeconds() int64 { return secondsCeil(r.ExpiresIn) }

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	_, req, oerr := ReadTokenRequest(w, r, ReadOptions{})
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	res, oerr := s.Token(r.Context(), req)
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	respond.JSON(w, http.StatusOK, res.Response())
}

// handleDeviceAuthorization serves RFC 8628 §3.1: form or JSON bodies, as
// the token endpoint reads them.
func (s *Server) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	p, cr, ok := readRequest(w, r)
	if !ok {
		return
	}
	out, oerr := s.DeviceAuthorize(r.Context(), cr, p.Get("scope"))
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	p, c, ok := s.readAuthenticated(w, r)
	if !ok {
		return
	}
	if c.Public() {
		WriteError(w, UnauthorizedClient("a public client may not introspect tokens"))
		return
	}
	out, oerr := s.Introspect(r.Context(), c, p.Get("token"), p.Get("token_type_hint"))
	if oerr != nil {
		WriteError(w, oerr)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	p, c, ok := s.readAuthenticated(w, r)
	if !ok {
		return
	}
	if oerr := s.Revoke(r.Context(), c, p.Get("token"), p.Get("token_type_hint")); oerr != nil {
		WriteError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// readRequest reads the body and the client's credentials, answering the
// error itself when either is bad.
func readRequest(w http.ResponseWriter, r *http.Request) (Params, ClientCredentials, bool) {
	p, oerr := ReadParams(w, r)
	if oerr == nil {
		var cr ClientCredentials
		if cr, oerr = ReadClientCredentials(r, p, ReadOptions{}); oerr == nil {
			return p, cr, true
		}
	}
	WriteError(w, oerr)
	return nil, ClientCredentials{}, false
}

// readAuthenticated is readRequest followed by client authentication.
func (s *Server) readAuthenticated(w http.ResponseWriter, r *http.Request) (Params, storage.Client, bool) {
	p, cr, ok := readRequest(w, r)
	if !ok {
		return nil, storage.Client{}, false
	}
	c, oerr := s.AuthenticateClient(r.Context(), cr)
	if oerr != nil {
		WriteError(w, oerr)
		return nil, storage.Client{}, false
	}
	return p, c, true
}

// handleUserinfo serves OpenID Connect's userinfo endpoint. The access
// token comes in the Authorization header, or for POST as the form field
// access_token (RFC 6750 §2.2); never in the query.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := bearer.Token(r)
	if !ok && r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if err := r.ParseForm(); err == nil {
				token, ok = r.PostForm.Get("access_token"), r.PostForm.Get("access_token") != ""
			}
		}
	}
	if !ok {
		writeBearerError(w, InvalidToken("a bearer access token is required"))
		return
	}
	claims, oerr := s.Userinfo(r.Context(), token)
	if oerr != nil {
		writeBearerError(w, oerr)
		return
	}
	respond.JSON(w, http.StatusOK, claims)
}

// writeBearerError writes an error of a protected resource (RFC 6750 §3):
// 401 and 403 carry the Bearer challenge.
func writeBearerError(w http.ResponseWriter, e *Error) {
	SetErrorHeaders(w, e)
	bearer.Fail(w, e.Status, e.Code, e.Description)
}

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.Metadata())
}

// ErrorBody is the RFC 6749 §5.2 error body.
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// SetErrorHeaders sets the headers an error asks for (WWW-Authenticate, Retry-After).
func SetErrorHeaders(w http.ResponseWriter, e *Error) {
	if e.BasicChallenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="latchkey", charset="UTF-8"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(secondsCeil(e.RetryAfter), 10))
	}
}

// WriteError writes e in the standard shape.
func WriteError(w http.ResponseWriter, e *Error) {
	SetErrorHeaders(w, e)
	respond.JSON(w, e.Status, ErrorBody{Error: e.Code, Description: e.Description})
}

// RemoteIP is the caller's IP address: the source the server's middleware
// put in the request's context (the socket's peer, or the client a trusted
// proxy names), else the socket's peer.
func RemoteIP(r *http.Request) string {
	if src := SourceFrom(r.Context()); src != "" {
		return src
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
