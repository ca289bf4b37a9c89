package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// AuthMethod is how a client authenticated (RFC 8414 names).
type AuthMethod string

// The client authentication methods latchkey supports.
const (
	AuthBasic AuthMethod = "client_secret_basic"
	AuthPost  AuthMethod = "client_secret_post"
	AuthNone  AuthMethod = "none"
)

// ClientCredentials are what a request presented to identify its client.
type ClientCredentials struct {
	ID     string
	Secret string
	Method AuthMethod
}

// ReadOptions are what an endpoint accepts beyond RFC 6749's strict reading.
type ReadOptions struct {
	// AgreeingCredentials accepts client credentials in the Authorization
	// header and in the body at once when they are the same: vendor
	// integrations send both on every call. Differing ones are refused.
	AgreeingCredentials bool
}

// ReadClientCredentials takes the client's credentials from the
// Authorization header (Basic) or the body, refusing two methods at once
// unless o allows agreeing ones.
func ReadClientCredentials(r *http.Request, p Params, o ReadOptions) (ClientCredentials, *Error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		switch {
		case p.Get("client_secret") != "" && p.Get("client_id") == "":
			return ClientCredentials{}, InvalidClient(false, "client_secret was sent without client_id")
		case p.Get("client_secret") != "":
			return ClientCredentials{ID: p.Get("client_id"), Secret: p.Get("client_secret"), Method: AuthPost}, nil
		case p.Get("client_id") != "":
			return ClientCredentials{ID: p.Get("client_id"), Method: AuthNone}, nil
		}
		return ClientCredentials{}, InvalidClient(true, "client authentication is missing: send HTTP Basic credentials or client_id")
	}
	id, secret, err := ParseBasic(auth)
	if err != nil {
		return ClientCredentials{}, InvalidClient(true, "the Authorization header is not valid HTTP Basic client authentication")
	}
	if bs := p.Get("client_secret"); bs != "" {
		if !o.AgreeingCredentials {
			return ClientCredentials{}, InvalidRequest("the client authenticated twice: use either HTTP Basic or client_secret, not both")
		}
		if subtle.ConstantTimeCompare([]byte(bs), []byte(secret)) != 1 {
			// Two secrets of which one is wrong: the client did not authenticate.
			return ClientCredentials{}, InvalidClient(true, "client_secret differs from the secret in the Authorization header")
		}
	}
	if b := p.Get("client_id"); b != "" && b != id {
		if o.AgreeingCredentials {
			return ClientCredentials{}, InvalidClient(true, "client_id differs from the client in the Authorization header")
		}
		return ClientCredentials{}, InvalidRequest("client_id differs from the client in the Authorization header").For("client_id")
	}
	return ClientCredentials{ID: id, Secret: secret, Method: AuthBasic}, nil
}

var errNotBasic = errors.New("not basic credentials")

// ParseBasic decodes an HTTP Basic Authorization header. Per RFC 6749
// §2.3.1 the id and secret are form-urlencoded before being joined.
func ParseBasic(header string) (id, secret string, err error) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", errNotBasic
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", errNotBasic
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errNotBasic
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", errNotBasic
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errNotBasic
	}
	if id == "" {
		return "", "", errNotBasic
	}
	return id, secret, nil
}

// AuthenticateClient checks credentials against the stored client. Every
// failure is the same invalid_client, so callers cannot tell an unknown
// client from a wrong secret. Wrong secrets are throttled per client and
// the request's source (SourceFrom(ctx)); past the budget the answer is
// 429, for a right secret from that source too (throttle.go).
func (s *Server) AuthenticateClient(ctx context.Context, cr ClientCredentials) (storage.Client, *Error) {
	fail := func() (storage.Client, *Error) {
		return storage.Client{}, InvalidClient(cr.Method == AuthBasic, "client authentication failed")
	}
	if len(cr.ID) > 255 {
		return fail()
	}
	c, err := s.client(ctx, cr.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return fail()
	}
	if err != nil {
		return storage.Client{}, s.unavailable(ctx, fmt.Sprintf("load client %q", clip(cr.ID)), err)
	}
	switch {
	case c.Public() && cr.Method != AuthNone:
		return fail() // a public client has no secret to present
	case c.Public():
		return c, nil
	case cr.Secret == "":
		return fail() // no secret, so no guess to count
	case !s.keys.VerifyClientSecret(c.SecretHash, cr.Secret):
		if oerr := s.wrongSecret(ctx, c.ID, SourceFrom(ctx)); oerr != nil {
			s.auditThrottled(ctx, oerr, "client_secret", c, SourceFrom(ctx))
			return storage.Client{}, oerr
		}
		return fail()
	}
	if oerr := s.secretWait(ctx, c.ID, SourceFrom(ctx)); oerr != nil {
		s.auditThrottled(ctx, oerr, "client_secret", c, SourceFrom(ctx))
		return storage.Client{}, oerr
	}
	return c, nil
}
