package web

import (
	"context"
	"crypto/hmac"
	"errors"
	"net/http"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

const (
	sessionCookie = "lk_session"
	csrfCookie    = "lk_csrf"
	// SessionTTL is how long a browser stays signed in.
	SessionTTL = 12 * time.Hour
)

func (h *Handler) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
}

// session returns the signed-in account of the request, if any.
func (h *Handler) session(ctx context.Context, r *http.Request) (*storage.Session, *storage.Account, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !h.keys.CheckToken(secrets.SessionKind, c.Value) {
		return nil, nil, nil
	}
	s, err := h.store.GetSession(ctx, secrets.TokenID(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !h.now().Before(s.ExpiresAt) {
		return nil, nil, nil
	}
	a, err := h.store.GetAccount(ctx, s.AccountID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &s, &a, nil
}

// startSession signs the account in on this browser, replacing any session it had.
func (h *Handler) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, a storage.Account) (storage.Session, error) {
	if old, err := r.Cookie(sessionCookie); err == nil && h.keys.CheckToken(secrets.SessionKind, old.Value) {
		_ = h.store.DeleteSession(ctx, secrets.TokenID(old.Value)) // a fresh id on every login: no fixation
	}
	token, id := h.keys.NewToken(secrets.SessionKind)
	now := h.now()
	s := storage.Session{ID: id, AccountID: a.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := h.store.CreateSession(ctx, s); err != nil {
		return s, err
	}
	http.SetCookie(w, h.cookie(sessionCookie, token, SessionTTL))
	return s, nil
}

// csrfToken returns the token forms carry, bound to the browser's CSRF
// cookie, setting that cookie when the browser has none yet.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(csrfCookie)
	value := ""
	if err == nil && len(c.Value) >= 20 && len(c.Value) <= 64 {
		value = c.Value
	} else {
		value = secrets.RandomID("")
		http.SetCookie(w, h.cookie(csrfCookie, value, 0))
	}
	return h.keys.MAC("csrf", []byte(value))
}

// checkCSRF reports whether a posted form carries the token of this browser.
func (h *Handler) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	want := h.keys.MAC("csrf", []byte(c.Value))
	return hmac.Equal([]byte(want), []byte(r.PostForm.Get("csrf_token")))
}
