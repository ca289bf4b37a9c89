package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// EndSession is a validated RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0).
type EndSession struct {
	// Hint is the verified id_token_hint; empty when none was sent or it
	// could not be verified (then the person is asked to confirm).
	Hint     IDTokenHint
	ClientID string
	// RedirectURI is where to send the browser once signed out, state
	// included; empty when the client named none.
	RedirectURI string
}

// ParseEndSession validates a logout request. A post_logout_redirect_uri
// is followed only when it is registered exactly for the client the
// request names (client_id, or the hint's audience); anything else is an
// error shown as a page, never a redirect.
func (s *Server) ParseEndSession(ctx context.Context, q url.Values) (EndSession, *Error) {
	for k, vs := range q {
		if len(vs) > 1 {
			return EndSession{}, InvalidRequest("parameter %q is given more than once", clip(k))
		}
		if len(vs[0]) > authorizeParamsMaxLen*4 {
			return EndSession{}, InvalidRequest("parameter %q is too long", clip(k))
		}
	}
	var es EndSession
	if v := q.Get("id_token_hint"); v != "" {
		hint, err := s.VerifyIDTokenHint(ctx, v)
		switch {
		case errors.Is(err, errBadHint):
			// An expired key, or a stale token: not a reason to keep anyone signed in.
			s.log.InfoContext(ctx, "logout: id_token_hint not verified; asking the person to confirm")
		case err != nil:
			return es, s.unavailable(ctx, "check id_token_hint", err)
		default:
			es.Hint = hint
		}
	}
	es.ClientID = q.Get("client_id")
	if es.ClientID != "" && es.Hint.ClientID != "" && es.ClientID != es.Hint.ClientID {
		return es, InvalidRequest("client_id does not match the client of id_token_hint")
	}
	if es.ClientID == "" {
		es.ClientID = es.Hint.ClientID
	}
	to := q.Get("post_logout_redirect_uri")
	if to == "" {
		return es, nil
	}
	if es.ClientID == "" {
		return es, InvalidRequest("post_logout_redirect_uri needs client_id or id_token_hint to name the application")
	}
	c, err := s.client(ctx, es.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return es, InvalidRequest("the application %q is not registered", clip(es.ClientID))
	case err != nil:
		return es, s.unavailable(ctx, "load client", err)
	case !slices.Contains(c.PostLogoutRedirectURIs, to): // exact string match, as redirect URIs
		return es, InvalidRequest("the post_logout_redirect_uri is not registered for this application")
	}
	state := q.Get("state")
	if len(state) > maxStateLen {
		return es, InvalidRequest("state is longer than %d characters", maxStateLen)
	}
	u, err := url.Parse(to)
	if err != nil {
		return es, InvalidRequest("the post_logout_redirect_uri is not a URL")
	}
	if state != "" {
		v := u.Query()
		v.Set("state", state)
		u.RawQuery = v.Encode()
	}
	es.RedirectURI = u.String()
	return es, nil
}
