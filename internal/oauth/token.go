package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// The grant types latchkey supports.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

// GrantTypes lists the supported grant types.
var GrantTypes = []string{GrantAuthorizationCode, GrantPassword, GrantClientCredentials, GrantRefreshToken, GrantDeviceCode}

// TokenRequest is a token request, whatever dialect it came in.
type TokenRequest struct {
	Client       ClientCredentials
	GrantType    string
	Scope        string // space-delimited; empty asks for the client's defaults
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	DeviceCode   string
	Username     string
	Password     string
	// MerchantID, when set, is the merchant the caller expects the client to
	// act for; a client bound to another merchant is refused.
	MerchantID string
	RemoteAddr string // the caller's IP address, for throttling
	// Grants, when set, are the only grant types the endpoint serves (a
	// dialect endpoint that serves fewer than the core); others are unsupported.
	Grants []string
}

// TokenRequestFromParams reads the standard parameters of RFC 6749.
func TokenRequestFromParams(p Params, cr ClientCredentials, remoteAddr string) TokenRequest {
	return TokenRequest{Client: cr, GrantType: p.Get("grant_type"), Scope: p.Get("scope"), Code: p.Get("code"),
		RedirectURI: p.Get("redirect_uri"), CodeVerifier: p.Get("code_verifier"), RefreshToken: p.Get("refresh_token"),
		DeviceCode: p.Get("device_code"),
		Username:   p.Get("username"), Password: p.Get("password"), RemoteAddr: remoteAddr}
}

// ReadTokenRequest reads a token request's body and client credentials;
// the parameters are returned too, for dialects that read more of them.
func ReadTokenRequest(w http.ResponseWriter, r *http.Request, o ReadOptions) (Params, TokenRequest, *Error) {
	p, oerr := ReadParams(w, r)
	if oerr != nil {
		return nil, TokenRequest{}, oerr
	}
	cr, oerr := ReadClientCredentials(r, p, o)
	if oerr != nil {
		return nil, TokenRequest{}, oerr
	}
	return p, TokenRequestFromParams(p, cr, RemoteIP(r)), nil
}

// TokenResult is what a successful grant issued.
type TokenResult struct {
	AccessToken  string
	ExpiresIn    time.Duration // 0 when the token never expires
	RefreshToken string        // empty when none was issued
	IDToken      string        // OpenID Connect: when openid was granted to a person's sign-in
	Scopes       []string
	Client       storage.Client
	Account      *storage.Account // the person, when one logged in
	Owner        storage.ResourceOwner
}

// grant is what a grant decided before tokens are minted.
type grant struct {
	typ     string // the grant type, for its token.issued event
	client  storage.Client
	account *storage.Account
	owner   storage.ResourceOwner
	scopes  []string
	signIn  signIn // for the ID token
}

// Token runs a token request: it authenticates the client, checks it may use
// the grant, and runs the grant.
func (s *Server) Token(ctx context.Context, req TokenRequest) (TokenResult, *Error) {
	if req.GrantType == "" {
		return TokenResult{}, InvalidRequest("grant_type is missing").For("grant_type")
	}
	if !slices.Contains(GrantTypes, req.GrantType) || len(req.Grants) > 0 && !slices.Contains(req.Grants, req.GrantType) {
		return TokenResult{}, UnsupportedGrantType("grant_type %q is not supported", clip(req.GrantType)).For("grant_type")
	}
	if req.GrantType == GrantPassword && s.pool.full() {
		return TokenResult{}, s.shedLogin(ctx) // before any work (shed.go)
	}
	client, oerr := s.AuthenticateClient(ctx, req.Client)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	if !client.AllowsGrant(req.GrantType) {
		return TokenResult{}, UnauthorizedClient("this client may not use the %s grant", req.GrantType)
	}
	if req.MerchantID != "" && client.MerchantID != "" && req.MerchantID != client.MerchantID {
		return TokenResult{}, InvalidRequest("merchantId does not match this client's merchant").For("merchantId")
	}
	switch req.GrantType {
	case GrantClientCredentials:
		return s.clientCredentials(ctx, client, req)
	case GrantPassword:
		return s.password(ctx, client, req)
	case GrantRefreshToken:
		return s.refresh(ctx, client, req)
	case GrantDeviceCode:
		return s.deviceCode(ctx, client, req)
	default:
		return s.authorizationCode(ctx, client, req)
	}
}

func (s *Server) clientCredentials(ctx context.Context, c storage.Client, req TokenRequest) (TokenResult, *Error) {
	if c.Public() {
		return TokenResult{}, UnauthorizedClient("a public client may not use the client_credentials grant")
	}
	scopes, oerr := ResolveScopes(c, req.Scope)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	owner, bound := BoundOwner(c)
	if !bound {
		owner = storage.ResourceOwner{Type: storage.OwnerClient, ID: c.ID}
	}
	// RFC 6749 §4.4.3: no refresh token, unless the client is registered for one.
	withRefresh := c.ClientCredentialsRefresh && c.AllowsGrant(GrantRefreshToken)
	return s.issue(ctx, grant{typ: GrantClientCredentials, client: c, owner: owner, scopes: scopes}, withRefresh, "")
}

func (s *Server) authorizationCode(ctx context.Context, c storage.Client, req TokenRequest) (TokenResult, *Error) {
	if req.Code == "" {
		return TokenResult{}, InvalidRequest("code is missing").For("code")
	}
	if !s.keys.CheckToken(secrets.AuthCodeKind, req.Code) {
		return TokenResult{}, InvalidGrant("the authorization code is invalid")
	}
	now := s.now()
	code, codeAccount, err := s.store.GetAuthCodeGrant(ctx, secrets.TokenID(req.Code))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return TokenResult{}, InvalidGrant("the authorization code is invalid")
	case err != nil:
		return TokenResult{}, s.unavailable(ctx, "load authorization code", err)
	case code.ClientID != c.ID:
		return TokenResult{}, s.spendCode(ctx, code, now, InvalidGrant("the authorization code was issued to another client"))
	case !code.UsedAt.IsZero():
		s.replayedCode(ctx, c, code)
		return TokenResult{}, InvalidGrant("the authorization code was already used")
	case !now.Before(code.ExpiresAt):
		return TokenResult{}, InvalidGrant("the authorization code has expired")
	case code.RedirectURI != "" && req.RedirectURI != code.RedirectURI:
		return TokenResult{}, s.spendCode(ctx, code, now, InvalidGrant("redirect_uri does not match the one of the authorization request"))
	}
	if oerr := verifyPKCE(code, req.CodeVerifier); oerr != nil {
		return TokenResult{}, s.spendCode(ctx, code, now, oerr)
	}
	account, oerr := checkGrantAccount(code.AccountID, code.AccountEpoch, codeAccount)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	g := grant{typ: GrantAuthorizationCode, client: c, account: account, owner: code.Owner, scopes: code.Scopes,
		signIn: signIn{nonce: code.Nonce, authTime: code.AuthTime}}
	// The family of tokens issued from a code is the code's id, so a replay
	// revokes exactly what the code produced.
	res, set := s.mint(ctx, g, code.ID, c.AllowsGrant(GrantRefreshToken), now)
	if oerr := s.finish(ctx, &res, set.Access, g.signIn); oerr != nil {
		return TokenResult{}, oerr
	}
	switch err := s.store.RedeemAuthCode(ctx, code.ID, now, set); {
	case errors.Is(err, storage.ErrAlreadyUsed):
		s.replayedCode(ctx, c, code)
		return TokenResult{}, InvalidGrant("the authorization code was already used")
	case errors.Is(err, storage.ErrExpired), errors.Is(err, storage.ErrNotFound):
		return TokenResult{}, InvalidGrant("the authorization code has expired")
	case err != nil:
		return TokenResult{}, s.unavailable(ctx, "redeem authorization code", err)
	}
	s.log.DebugContext(ctx, "token issued", "grant", GrantAuthorizationCode, "client_id", c.ID, "family", familyLabel(code.ID))
	return res, nil
}

// spendCode uses up a code presented with the wrong client, redirect URI
// or code_verifier, so that whoever holds a stolen code gets no second try,
// and returns oerr. A code it could not mark would still be usable, so that
// is answered 503 instead of oerr.
func (s *Server) spendCode(ctx context.Context, code storage.AuthCode, now time.Time, oerr *Error) *Error {
	if err := s.store.SpendAuthCode(ctx, code.ID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.unavailable(ctx, "use up authorization code", err)
	}
	s.log.WarnContext(ctx, "authorization code used up by a failed redemption", "client_id", code.ClientID, "family", familyLabel(code.ID),
		"reason", oerr.Description)
	return oerr
}

// replayedCode revokes everything issued from a code presented twice (RFC 6749 §4.1.2).
func (s *Server) replayedCode(ctx context.Context, c storage.Client, code storage.AuthCode) {
	s.log.WarnContext(ctx, "authorization code replayed; revoking the tokens issued from it", "client_id", code.ClientID, "family", familyLabel(code.ID))
	if err := s.store.RevokeFamily(ctx, code.ID, s.now(), codeFamilyExpiresAt(c, code)); err != nil {
		s.noteFailure(ctx, "revoke tokens of replayed code", err)
	}
	s.audit(ctx, storage.AuditEvent{Type: AuditCodeReplayed, Subject: subject("account", code.AccountID), ClientID: c.ID,
		MerchantID: c.MerchantID, OrganizationID: c.OrganizationID, Detail: map[string]string{"family": familyLabel(code.ID)}})
}

// familyMargin is kept beyond a family's computed end, for a client whose
// access token lifetime was shortened after some of its tokens were issued.
const familyMargin = 24 * time.Hour

// familyExpiresAt is when the last token of a family whose refresh tokens
// expire at refreshExpiry expires (zero: never, or not known): no access
// token of the family is issued after its refresh tokens expire.
func familyExpiresAt(c storage.Client, refreshExpiry time.Time) time.Time {
	if refreshExpiry.IsZero() || c.AccessTokenTTL <= 0 {
		return time.Time{}
	}
	return refreshExpiry.Add(c.AccessTokenTTL + familyMargin)
}

// codeFamilyExpiresAt is familyExpiresAt for the tokens issued from code.
// The code was redeemed before it expired; its refresh tokens, if the client
// gets any, expire at most RefreshTokenTTL after that.
func codeFamilyExpiresAt(c storage.Client, code storage.AuthCode) time.Time {
	if !c.AllowsGrant(GrantRefreshToken) {
		return familyExpiresAt(c, code.ExpiresAt)
	}
	if c.RefreshTokenTTL <= 0 {
		return time.Time{} // refresh tokens that never expire
	}
	return familyExpiresAt(c, code.ExpiresAt.Add(c.RefreshTokenTTL))
}

// verifyPKCE checks the code_verifier against the code's challenge (RFC 7636).
func verifyPKCE(code storage.AuthCode, verifier string) *Error {
	if code.CodeChallenge == "" {
		if verifier != "" {
			return InvalidGrant("code_verifier was sent but the authorization request had no code_challenge")
		}
		return nil
	}
	if verifier == "" {
		return InvalidGrant("code_verifier is missing")
	}
	if !validVerifier(verifier) {
		return InvalidRequest("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~").For("code_verifier")
	}
	want := verifier
	if code.CodeChallengeMethod == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(code.CodeChallenge)) != 1 {
		return InvalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// refresh runs the refresh_token grant (RFC 6749 §6) in four steps: load
// the presented token with its account, narrow its scopes, check the
// account, then either issue a new access token beside it or rotate it.
func (s *Server) refresh(ctx context.Context, c storage.Client, req TokenRequest) (TokenResult, *Error) {
	now := s.now()
	old, oldAccount, oerr := s.presentedRefreshToken(ctx, c, req.RefreshToken, now)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	scopes, oerr := narrowScopes(old.Scopes, req.Scope)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	account, oerr := checkGrantAccount(old.AccountID, old.AccountEpoch, oldAccount)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	g := grant{typ: GrantRefreshToken, client: c, account: account, owner: old.Owner, scopes: scopes}
	if !c.RotateRefresh {
		return s.reissueAccess(ctx, g, old.FamilyID, now)
	}
	return s.rotate(ctx, g, old, req.RefreshToken, now)
}

// presentedRefreshToken checks the token's MAC before any read, then loads
// it with its account and checks it belongs to c and is neither revoked
// nor expired.
func (s *Server) presentedRefreshToken(ctx context.Context, c storage.Client, token string, now time.Time) (storage.RefreshToken, *storage.Account, *Error) {
	if token == "" {
		return storage.RefreshToken{}, nil, InvalidRequest("refresh_token is missing").For("refresh_token")
	}
	if !s.keys.CheckToken(secrets.RefreshTokenKind, token) {
		return storage.RefreshToken{}, nil, InvalidGrant("the refresh token is invalid")
	}
	old, account, err := s.store.GetRefreshGrant(ctx, secrets.TokenID(token))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return old, nil, InvalidGrant("the refresh token is invalid")
	case err != nil:
		return old, nil, s.unavailable(ctx, "load refresh token", err)
	case old.ClientID != c.ID:
		return old, nil, InvalidGrant("the refresh token was issued to another client")
	case !old.RevokedAt.IsZero():
		return old, nil, InvalidGrant("the refresh token was revoked")
	case !old.ExpiresAt.IsZero() && !now.Before(old.ExpiresAt):
		return old, nil, InvalidGrant("the refresh token has expired")
	}
	return old, account, nil
}

// narrowScopes applies RFC 6749 §6: a refresh may narrow the scopes
// granted, never widen them; none asked keeps them all.
func narrowScopes(granted []string, requested string) ([]string, *Error) {
	if requested == "" {
		return granted, nil
	}
	narrowed, oerr := parseScopes(requested)
	if oerr != nil {
		return nil, oerr
	}
	for _, sc := range narrowed {
		if !slices.Contains(granted, sc) {
			return nil, InvalidScope("scope %q was not granted to this refresh token", clip(sc)).For("scope")
		}
	}
	return narrowed, nil
}

// grantAccount loads the account a grant was issued for (nil when none)
// and checks it (checkGrantAccount); a failed read is the server's problem
// and leaves the grant usable.
func (s *Server) grantAccount(ctx context.Context, id string, epoch time.Time) (*storage.Account, *Error) {
	if id == "" {
		return nil, nil
	}
	a, err := s.store.GetAccount(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return checkGrantAccount(id, epoch, nil)
	case err != nil:
		return nil, s.unavailable(ctx, "load account of grant", err)
	}
	return checkGrantAccount(id, epoch, &a)
}

// checkGrantAccount checks a, the account with id that a code or refresh
// token was issued for under epoch (nil when it no longer exists; id empty
// when there is none). Only an account that is gone or disabled, or whose
// tokens were revoked since (a password change), ends the grant. The tokens
// the grant then issues keep that epoch, so a revocation committing
// meanwhile revokes them too.
func checkGrantAccount(id string, epoch time.Time, a *storage.Account) (*storage.Account, *Error) {
	switch {
	case id == "":
		return nil, nil
	case a == nil:
		return nil, InvalidGrant("the account of this grant no longer exists")
	case a.Disabled:
		return nil, InvalidGrant("the account of this grant is disabled")
	case !a.TokensRevokedAt.Equal(epoch):
		return nil, InvalidGrant("the grant was revoked with the account's password or access")
	}
	return a, nil
}

// reissueAccess is a refresh for a client that keeps its refresh token:
// only a new access token of the same family is issued.
func (s *Server) reissueAccess(ctx context.Context, g grant, family string, now time.Time) (TokenResult, *Error) {
	res, set := s.mint(ctx, g, family, false, now)
	if oerr := s.finish(ctx, &res, set.Access, g.signIn); oerr != nil {
		return TokenResult{}, oerr
	}
	if err := s.store.CreateTokens(ctx, set); err != nil {
		return TokenResult{}, s.unavailable(ctx, "store access token", err)
	}
	return res, nil
}

// rotate retires the presented refresh token for successors. They are
// derived from the presented token and the rotation time, so a retry within
// the grace window, which finds that time stored, is handed the very same
// tokens again.
func (s *Server) rotate(ctx context.Context, g grant, old storage.RefreshToken, token string, now time.Time) (TokenResult, *Error) {
	c := g.client
	derivedAt := now
	if !old.RotatedAt.IsZero() {
		derivedAt = old.RotatedAt
	}
	access, accessID, refresh, refreshID := s.successors(token, derivedAt)
	res, set := s.mintWith(ctx, g, old.FamilyID, now, access, accessID, refresh, refreshID)
	set.Refresh.ExpiresAt = old.ExpiresAt // the family's absolute lifetime does not restart
	rot, err := s.store.RotateRefreshToken(ctx, storage.Rotation{OldID: old.ID, Access: *set.Access, Refresh: *set.Refresh,
		Now: now, Grace: c.RefreshGrace, FamilyExpiresAt: familyExpiresAt(c, old.ExpiresAt), Event: set.Event})
	switch {
	case errors.Is(err, storage.ErrTokenReused):
		s.log.WarnContext(ctx, "refresh token reused; token family revoked", "client_id", c.ID, "family", familyLabel(old.FamilyID))
		ev := storage.AuditEvent{Type: AuditRefreshReused, ClientID: c.ID, MerchantID: c.MerchantID, OrganizationID: c.OrganizationID,
			Detail: map[string]string{"family": familyLabel(old.FamilyID)}}
		if old.AccountID != "" {
			ev.Subject = subject("account", old.AccountID)
		}
		s.audit(ctx, ev)
		return TokenResult{}, InvalidGrant("the refresh token was already used")
	case errors.Is(err, storage.ErrRevoked), errors.Is(err, storage.ErrNotFound):
		return TokenResult{}, InvalidGrant("the refresh token was revoked")
	case errors.Is(err, storage.ErrExpired):
		return TokenResult{}, InvalidGrant("the refresh token has expired")
	case err != nil:
		return TokenResult{}, s.unavailable(ctx, "rotate refresh token", err)
	}
	at := *set.Access
	if rot.Outcome == storage.OutcomeGrace {
		var oerr *Error
		if at, oerr = s.graceAnswer(ctx, &res, rot, token, derivedAt, accessID, refreshID, now); oerr != nil {
			return TokenResult{}, oerr
		}
	}
	if oerr := s.finish(ctx, &res, &at, g.signIn); oerr != nil {
		return TokenResult{}, oerr
	}
	return res, nil
}

// graceAnswer fills res for a retry within the grace window with the
// tokens stored the first time, and returns that access token. A
// concurrent first rotation may have won with another time.
func (s *Server) graceAnswer(ctx context.Context, res *TokenResult, rot storage.RotationResult, token string,
	derivedAt time.Time, accessID, refreshID string, now time.Time) (storage.AccessToken, *Error) {
	if rot.Successor.ID != refreshID && !rot.Old.RotatedAt.Equal(derivedAt) {
		res.AccessToken, accessID, res.RefreshToken, refreshID = s.successors(token, rot.Old.RotatedAt)
	}
	if rot.Successor.ID != refreshID {
		return storage.AccessToken{}, InvalidGrant("the refresh token was already used")
	}
	stored, err := s.store.GetAccessToken(ctx, accessID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return stored, InvalidGrant("the refresh token was already used")
	case err != nil:
		return stored, s.unavailable(ctx, "load access token of rotation", err)
	case !stored.RevokedAt.IsZero():
		return stored, InvalidGrant("the refresh token was already used")
	}
	res.Scopes, res.ExpiresIn = stored.Scopes, 0
	if !stored.ExpiresAt.IsZero() {
		res.ExpiresIn = stored.ExpiresAt.Sub(now)
	}
	return stored, nil
}

// successors derives the tokens that replace a refresh token rotated at at.
func (s *Server) successors(refreshToken string, at time.Time) (access, accessID, refresh, refreshID string) {
	access, accessID = s.keys.DeriveToken(secrets.AccessTokenKind, refreshToken, "access", at)
	refresh, refreshID = s.keys.DeriveToken(secrets.RefreshTokenKind, refreshToken, "refresh", at)
	return access, accessID, refresh, refreshID
}

// familyLabel is a token family id safe to log: ids of code families are
// hashes of codes, so only a prefix is shown.
func familyLabel(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// issue mints tokens for g and stores them.
func (s *Server) issue(ctx context.Context, g grant, withRefresh bool, family string) (TokenResult, *Error) {
	if family == "" && withRefresh {
		family = secrets.SortableID("fam_")
	}
	res, set := s.mint(ctx, g, family, withRefresh, s.now())
	if oerr := s.finish(ctx, &res, set.Access, g.signIn); oerr != nil {
		return TokenResult{}, oerr
	}
	if err := s.store.CreateTokens(ctx, set); err != nil {
		return TokenResult{}, s.unavailable(ctx, "store tokens", err)
	}
	s.log.DebugContext(ctx, "token issued", "client_id", g.client.ID, "owner_type", g.owner.Type, "refresh", withRefresh)
	return res, nil
}

// mint makes fresh tokens for g and their token.issued event; nothing is
// stored yet.
func (s *Server) mint(ctx context.Context, g grant, family string, withRefresh bool, now time.Time) (TokenResult, storage.TokenSet) {
	access, accessID := s.keys.NewToken(secrets.AccessTokenKind)
	var refresh, refreshID string
	if withRefresh {
		refresh, refreshID = s.keys.NewToken(secrets.RefreshTokenKind)
	}
	return s.mintWith(ctx, g, family, now, access, accessID, refresh, refreshID)
}

func (s *Server) mintWith(ctx context.Context, g grant, family string, now time.Time, access, accessID, refresh, refreshID string) (TokenResult, storage.TokenSet) {
	accountID, epoch := "", time.Time{}
	if g.account != nil {
		// The epoch of the account as the grant read it: a revocation
		// committed after that read revokes these tokens as well.
		accountID, epoch = g.account.ID, g.account.TokensRevokedAt
	}
	at := &storage.AccessToken{ID: accessID, FamilyID: family, ClientID: g.client.ID, AccountID: accountID, Owner: g.owner,
		Scopes: g.scopes, IssuedAt: now, AccountEpoch: epoch}
	if ttl := g.client.AccessTokenTTL; ttl > 0 {
		at.ExpiresAt = now.Add(ttl)
	}
	res := TokenResult{AccessToken: access, ExpiresIn: g.client.AccessTokenTTL, Scopes: g.scopes, Client: g.client,
		Account: g.account, Owner: g.owner}
	set := storage.TokenSet{Access: at}
	if refresh != "" {
		rt := &storage.RefreshToken{ID: refreshID, FamilyID: family, ClientID: g.client.ID, AccountID: accountID, Owner: g.owner,
			Scopes: g.scopes, AccessTokenID: accessID, IssuedAt: now, AccountEpoch: epoch}
		if ttl := g.client.RefreshTokenTTL; ttl > 0 {
			rt.ExpiresAt = now.Add(ttl)
		}
		set.Refresh = rt
		res.RefreshToken = refresh
	}
	set.Event = s.issuedEvent(ctx, g, family, set, now)
	return res, set
}
