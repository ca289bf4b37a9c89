package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/respond"
)

// deviceLangFields are the language parameters the device pages carry from
// form to form, as the authorization pages carry the request's.
var deviceLangFields = []string{"ui_locales", "lang"}

// Device serves the device verification page (RFC 8628 §3.3) at
// oauth.DevicePath. GET shows the form where a person enters the code their
// device shows, pre-filled from ?user_code= (verification_uri_complete) but
// never submitted for them: a link from someone else must not pair a device
// silently. A posted code is looked up (throttled per source like
// passwords); then the flow of the authorization pages runs on the device's
// request: login, account picker, and the consent page, always, which
// shows the code to compare with the device's. Every form carries the code
// and every post looks it up again, so a code decided or expired meanwhile
// is refused. The flow ends on a page, never with a redirect.
func (h *Handler) Device(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Content-Security-Policy", respond.PageCSP)
	w.Header().Set("Cache-Control", "no-store")
	params, ok := h.requestParams(w, r)
	if !ok {
		return
	}
	f := &flow{w: w, r: r, params: url.Values{}, action: params.Get("action")}
	for _, k := range deviceLangFields {
		if v := params.Get(k); v != "" {
			f.params.Set(k, v)
		}
	}
	f.lang = pickLanguage(r, f.params.Get("ui_locales"), f.params.Get("lang"))
	f.csrf = h.csrfToken(w, r)
	code := params.Get("user_code")
	if len(code) > 64 {
		code = ""
	}
	if r.Method != http.MethodPost {
		h.renderDevice(f, code, "", http.StatusOK)
		return
	}
	if !h.checkCSRF(r) {
		h.renderDevice(f, code, translate(f.lang, "error.expired", ""), http.StatusBadRequest)
		return
	}
	d, oerr := h.core.LookupUserCode(ctx, code, oauth.RemoteIP(r))
	if oerr != nil {
		oauth.SetErrorHeaders(w, oerr)
		h.renderDevice(f, code, h.deviceError(f.lang, oerr), oerr.Status)
		return
	}
	f.device, f.req = &d, d.AuthorizeRequest
	f.params.Set("user_code", d.UserCode)
	h.run(ctx, f, oauth.DevicePath)
}

// deviceError is the message of a user code that was refused.
func (h *Handler) deviceError(lang string, e *oauth.Error) string {
	switch e.Status {
	case http.StatusTooManyRequests:
		return translate(lang, "device.throttled", "")
	case http.StatusServiceUnavailable:
		return translate(lang, "login.busy", "")
	}
	return translate(lang, "device.invalid", "")
}

// renderDevice shows the code entry form, with code filled in.
func (h *Handler) renderDevice(f *flow, code, msg string, status int) {
	p := page{Lang: f.lang, Title: translate(f.lang, "device.title", ""), Product: h.product, Logo: h.logo,
		Action: oauth.DevicePath, CSRF: f.csrf, Error: msg, UserCode: code}
	for _, k := range deviceLangFields {
		if v := f.params.Get(k); v != "" {
			p.Hidden = append(p.Hidden, [2]string{k, v})
		}
	}
	h.render(f.w, "device", status, p)
}

// deviceOutcome ends a device flow on a page saying how it ended.
func (h *Handler) deviceOutcome(f *flow, status int, titleKey, msgKey string) {
	h.render(f.w, "device", status, page{Lang: f.lang, Title: translate(f.lang, titleKey, ""), Product: h.product,
		Logo: h.logo, Message: translate(f.lang, msgKey, ""), Done: true})
}

// decideDevice records the person's answer, or says why it could not be:
// a code decided or expired since the page was shown goes back to the
// entry form with the message of an invalid code.
func (h *Handler) decideDevice(ctx context.Context, f *flow, approve bool) bool {
	oerr := h.core.DecideDevice(ctx, *f.device, approve, f.account, f.owner.Owner, f.authTime)
	switch {
	case oerr == nil:
		return true
	case oerr.Status >= http.StatusInternalServerError:
		oauth.SetErrorHeaders(f.w, oerr)
		h.errorPage(f.w, f.r, f.lang, oerr.Status, "the server could not complete the request; please try again")
	default:
		h.renderDevice(f, f.device.UserCode, translate(f.lang, "device.invalid", ""), oerr.Status)
	}
	return false
}

// denyDevice answers no for the device: its next poll gets access_denied.
func (h *Handler) denyDevice(ctx context.Context, f *flow) {
	if h.decideDevice(ctx, f, false) {
		h.deviceOutcome(f, http.StatusOK, "device.denied.title", "device.denied")
	}
}

// approveDevice ends an approved device flow: the device's next poll gets
// tokens for the account, acting for the owner picked.
func (h *Handler) approveDevice(ctx context.Context, f *flow) {
	if h.decideDevice(ctx, f, true) {
		h.deviceOutcome(f, http.StatusOK, "device.done.title", "device.done")
	}
}
