package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// GrantDeviceCode is RFC 8628's grant type: a device without a browser
// polls for the tokens a person approves on another screen.
const GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// DevicePath is the page where a person enters a device's user code.
const DevicePath = "/device"

const (
	// DeviceCodeTTL is how long a device authorization waits for its person.
	DeviceCodeTTL = 10 * time.Minute
	// DeviceInterval is how long a device waits between polls at first.
	DeviceInterval = 5 * time.Second
	// deviceSlowDown is what a poll that comes too soon adds to the
	// interval (RFC 8628 §3.5).
	deviceSlowDown = 5 * time.Second
)

// userCodeAlphabet has no vowels (no words spelled by chance) and no
// letters that read alike; 20⁸ codes are about 34.6 bits, and guessing is
// throttled like passwords while a code lives ten minutes (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const userCodeLen = 8

// DeviceAuthorization is the answer to a device authorization request (RFC 8628 §3.2).
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// newUserCode draws a user code, shown as XXXX-XXXX.
func newUserCode() string {
	var b [userCodeLen]byte
	rand.Read(b[:])
	out := make([]byte, 0, userCodeLen+1)
	for i, x := range b {
		if i == userCodeLen/2 {
			out = append(out, '-')
		}
		// 256 is not a multiple of 20: values past 240 would favour the first
		// letters; folding them back costs little entropy on a 35-bit code.
		out = append(out, userCodeAlphabet[int(x)%len(userCodeAlphabet)])
	}
	return string(out)
}

// NormalizeUserCode reads a user code as a person may type it: any case,
// with or without the dash or spaces. It reports false for anything that
// cannot be a user code.
func NormalizeUserCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != userCodeLen {
		return "", false
	}
	n := b.String()
	return n[:userCodeLen/2] + "-" + n[userCodeLen/2:], true
}

// userCodeHash is how a user code is stored: keyed, so a copy of the
// database does not list the codes people could still enter.
func (s *Server) userCodeHash(normalized string) string {
	return s.keys.MAC("user-code", []byte(normalized))
}

// DeviceAuthorize starts a device authorization (RFC 8628 §3.1) for the
// client cr names: public clients send their client_id, confidential ones
// authenticate as at the token endpoint.
func (s *Server) DeviceAuthorize(ctx context.Context, cr ClientCredentials, scope string) (DeviceAuthorization, *Error) {
	if cr.ID == "" {
		return DeviceAuthorization{}, InvalidRequest("client_id is missing").For("client_id")
	}
	c, oerr := s.AuthenticateClient(ctx, cr)
	if oerr != nil {
		return DeviceAuthorization{}, oerr
	}
	if !c.AllowsGrant(GrantDeviceCode) {
		return DeviceAuthorization{}, UnauthorizedClient("this client may not use the device authorization grant")
	}
	scopes, oerr := ResolveScopes(c, scope)
	if oerr != nil {
		return DeviceAuthorization{}, oerr
	}
	now := s.now()
	for range 3 { // a user code already in use is drawn again
		device, id := s.keys.NewToken(secrets.DeviceCodeKind)
		user := newUserCode()
		d := storage.DeviceCode{ID: id, UserCodeHash: s.userCodeHash(user), ClientID: c.ID, Scopes: scopes,
			Status: storage.DevicePending, Interval: DeviceInterval, CreatedAt: now, ExpiresAt: now.Add(DeviceCodeTTL)}
		err := s.store.CreateDeviceCode(ctx, d)
		if errors.Is(err, storage.ErrAlreadyExists) {
			continue
		}
		if err != nil {
			return DeviceAuthorization{}, s.unavailable(ctx, "store device code", err)
		}
		s.log.InfoContext(ctx, "device authorization started", "client_id", c.ID)
		verify := s.issuer + DevicePath
		return DeviceAuthorization{DeviceCode: device, UserCode: user, VerificationURI: verify,
			VerificationURIComplete: verify + "?user_code=" + user, ExpiresIn: int64(DeviceCodeTTL / time.Second),
			Interval: int64(DeviceInterval / time.Second)}, nil
	}
	return DeviceAuthorization{}, s.unavailable(ctx, "store device code", errors.New("three user codes in a row were taken"))
}

// DeviceRequest is a pending device authorization found by its user code,
// as an authorization request the pages walk: login, picker, consent.
type DeviceRequest struct {
	AuthorizeRequest
	Code     storage.DeviceCode
	UserCode string // as XXXX-XXXX
}

// ErrInvalidUserCode is the code of a user code that matches no pending
// device authorization.
const ErrInvalidUserCode = "invalid_user_code"

// LookupUserCode finds the pending device authorization of a user code
// entered at source. A code that matches none (unknown, expired, already
// decided) is counted as a failed guess of that source, like a wrong
// password: past the budget the answer is 429 with Retry-After.
func (s *Server) LookupUserCode(ctx context.Context, userCode, source string) (_ DeviceRequest, refusal *Error) {
	defer func() { s.auditThrottled(ctx, refusal, "user_code", storage.Client{}, source) }()
	keys := s.userCodeKeys(source)
	if _, oerr := s.loginWait(ctx, keys); oerr != nil {
		return DeviceRequest{}, oerr
	}
	wrong := func() (DeviceRequest, *Error) {
		if oerr := s.loginFailed(ctx, keys); oerr.Status != http.StatusBadRequest {
			return DeviceRequest{}, oerr // throttled, or the database failed
		}
		return DeviceRequest{}, Errorf(http.StatusBadRequest, ErrInvalidUserCode, "the code is unknown, expired or already used")
	}
	norm, ok := NormalizeUserCode(userCode)
	if !ok {
		return wrong()
	}
	d, err := s.store.GetDeviceCodeByUserCode(ctx, s.userCodeHash(norm))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return wrong()
	case err != nil:
		return DeviceRequest{}, s.unavailable(ctx, "load device code", err)
	case d.Status != storage.DevicePending || !s.now().Before(d.ExpiresAt):
		return wrong()
	}
	c, err := s.client(ctx, d.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return wrong()
	case err != nil:
		return DeviceRequest{}, s.unavailable(ctx, "load client of device code", err)
	}
	return DeviceRequest{AuthorizeRequest: AuthorizeRequest{Client: c, Scopes: d.Scopes, MaxAge: -1}, Code: d, UserCode: norm}, nil
}

// userCodeKeys are the throttle keys of user codes entered from source:
// the source's own for codes, and the source's for every failure.
func (s *Server) userCodeKeys(source string) [2]storage.ThrottleKey {
	src := sourceKey(source)
	return [2]storage.ThrottleKey{
		{Key: s.throttleKey("user-code", src), Rule: s.throttle.rule(s.throttle.PerAccountSource)},
		{Key: s.throttleKey("source", src), Rule: s.throttle.rule(s.throttle.PerSource)},
	}
}

// DecideDevice records the person's answer: approve lets the device's
// next poll get tokens for account, acting for owner.
func (s *Server) DecideDevice(ctx context.Context, d DeviceRequest, approve bool, a storage.Account, owner storage.ResourceOwner, authTime time.Time) *Error {
	dec := storage.DeviceDecision{Approve: approve, Now: s.now()}
	if approve {
		dec.AccountID, dec.Owner, dec.AccountEpoch, dec.AuthTime = a.ID, owner, a.TokensRevokedAt, authTime
	}
	err := s.store.DecideDeviceCode(ctx, d.Code.ID, dec)
	switch {
	case errors.Is(err, storage.ErrNotPending), errors.Is(err, storage.ErrExpired), errors.Is(err, storage.ErrNotFound),
		errors.Is(err, storage.ErrAlreadyUsed):
		return Errorf(http.StatusBadRequest, ErrInvalidUserCode, "the code expired or was already used")
	case err != nil:
		return s.unavailable(ctx, "record device decision", err)
	}
	s.log.InfoContext(ctx, "device authorization decided", "client_id", d.Client.ID, "approved", approve)
	return nil
}

// The errors of a device polling too soon or too early (RFC 8628 §3.5).
const (
	ErrAuthorizationPending = "authorization_pending"
	ErrSlowDown             = "slow_down"
	ErrExpiredToken         = "expired_token"
)

// deviceCode runs the device_code grant: every poll is recorded, a poll
// within the interval is told slow_down (and the interval grows), then the
// person's answer decides; an approved code redeems exactly once.
func (s *Server) deviceCode(ctx context.Context, c storage.Client, req TokenRequest) (TokenResult, *Error) {
	if req.DeviceCode == "" {
		return TokenResult{}, InvalidRequest("device_code is missing").For("device_code")
	}
	invalid := InvalidGrant("the device code is invalid")
	if !s.keys.CheckToken(secrets.DeviceCodeKind, req.DeviceCode) {
		return TokenResult{}, invalid
	}
	now := s.now()
	p, err := s.store.PollDeviceCode(ctx, secrets.TokenID(req.DeviceCode), now, deviceSlowDown)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return TokenResult{}, invalid
	case err != nil:
		return TokenResult{}, s.unavailable(ctx, "poll device code", err)
	}
	d := p.Code
	switch {
	case d.ClientID != c.ID:
		return TokenResult{}, InvalidGrant("the device code was issued to another client")
	case d.Status == storage.DeviceUsed:
		return TokenResult{}, InvalidGrant("the device code was already used")
	case !now.Before(d.ExpiresAt):
		return TokenResult{}, Errorf(http.StatusBadRequest, ErrExpiredToken, "the device code has expired; start again")
	case p.TooSoon:
		return TokenResult{}, Errorf(http.StatusBadRequest, ErrSlowDown, "polled too soon; wait %d seconds between polls", secondsCeil(d.Interval))
	case d.Status == storage.DevicePending:
		return TokenResult{}, Errorf(http.StatusBadRequest, ErrAuthorizationPending, "the person has not answered yet")
	case d.Status == storage.DeviceDenied:
		return TokenResult{}, Errorf(http.StatusBadRequest, ErrAccessDenied, "the person denied the request")
	}
	account, oerr := s.grantAccount(ctx, d.AccountID, d.AccountEpoch)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	g := grant{typ: GrantDeviceCode, client: c, account: account, owner: d.Owner, scopes: d.Scopes, signIn: signIn{authTime: d.AuthTime}}
	// The family of the tokens is the device code's id, as a code's is.
	res, set := s.mint(ctx, g, d.ID, c.AllowsGrant(GrantRefreshToken), now)
	if oerr := s.finish(ctx, &res, set.Access, g.signIn); oerr != nil {
		return TokenResult{}, oerr
	}
	switch err := s.store.RedeemDeviceCode(ctx, d.ID, now, set); {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return TokenResult{}, InvalidGrant("the device code was already used")
	case errors.Is(err, storage.ErrExpired):
		return TokenResult{}, Errorf(http.StatusBadRequest, ErrExpiredToken, "the device code has expired; start again")
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrNotPending):
		return TokenResult{}, invalid
	case err != nil:
		return TokenResult{}, s.unavailable(ctx, "redeem device code", err)
	}
	s.log.DebugContext(ctx, "token issued", "grant", "device_code", "client_id", c.ID, "family", familyLabel(d.ID))
	return res, nil
}
