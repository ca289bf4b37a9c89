package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey-dev/latchkey/internal/signing"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// ScopeOpenID makes a request an OpenID Connect one: it gets an ID token,
// and its access token may read userinfo.
const ScopeOpenID = "openid"

// The scopes that add claims about the person (OpenID Connect Core §5.4).
const (
	ScopeProfile = "profile"
	ScopeEmail   = "email"
)

// IDTokenTTL is how long an ID token is valid. It says who signed in, once,
// to the client that asked; it is not a credential, so it need not outlive
// the sign-in by much.
const IDTokenTTL = time.Hour

// ACRPassword is the acr of every latchkey sign-in: one factor, a password.
// It is the only level there is; amr says the same as ["pwd"].
const ACRPassword = "1"

// IDTokenAlgs are the algorithms an ID token may be signed with; the first
// is the default (RS256, the one every OpenID Connect client must accept).
var IDTokenAlgs = []string{string(jose.RS256), string(jose.ES256)}

// idTokenTyp is the typ header of ID tokens: plain JWT, so no one mistakes
// one for an access token (at+jwt) or the reverse.
const idTokenTyp = "JWT"

// UserClaims are the claims about a person that userinfo answers and ID
// tokens carry, chosen by the scopes granted.
type UserClaims struct {
	Subject           string `json:"sub"`
	PreferredUsername string `json:"preferred_username,omitempty"` // profile
	Name              string `json:"name,omitempty"`               // profile: latchkey keeps no display name, so the username
	Email             string `json:"email,omitempty"`              // email, when the username is an address
	EmailVerified     *bool  `json:"email_verified,omitempty"`     // email: latchkey never verifies addresses, so false
	// The party the client acts for, chosen at sign-in: latchkey's tenant claims.
	MerchantID        string `json:"merchant_id,omitempty"`
	OrganizationID    string `json:"organization_id,omitempty"`
	ResourceOwnerType string `json:"resource_owner_type,omitempty"`
}

// IDTokenClaims are an ID token's claims (OpenID Connect Core §2).
type IDTokenClaims struct {
	Issuer          string   `json:"iss"`
	Audience        string   `json:"aud"`
	AuthorizedParty string   `json:"azp"`
	ExpiresAt       int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	AuthTime        int64    `json:"auth_time,omitempty"` // left out on refresh: the sign-in time is not kept with refresh tokens
	Nonce           string   `json:"nonce,omitempty"`
	AccessTokenHash string   `json:"at_hash,omitempty"`
	ACR             string   `json:"acr,omitempty"`
	AMR             []string `json:"amr,omitempty"`
	UserClaims
}

// signIn is what an ID token says about the sign-in behind a grant: zero
// for grants without a person, and authTime zero when it is not known.
type signIn struct {
	nonce    string
	authTime time.Time
}

// userClaims projects a token's claims and its account onto the claims
// its scopes allow.
func userClaims(tc TokenClaims, a *storage.Account, scopes []string) UserClaims {
	u := UserClaims{Subject: a.ID, MerchantID: tc.MerchantID, OrganizationID: tc.OrganizationID,
		ResourceOwnerType: tc.ResourceOwnerType}
	if slices.Contains(scopes, ScopeProfile) {
		u.PreferredUsername, u.Name = a.Username, a.Username
	}
	if slices.Contains(scopes, ScopeEmail) && isAddress(a.Username) {
		verified := false
		u.Email, u.EmailVerified = a.Username, &verified
	}
	return u
}

// isAddress reports whether a username is a bare e-mail address, as staff
// usernames usually are.
func isAddress(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Name == "" && addr.Address == s
}

// accessTokenHash is at_hash: the left half of the SHA-256 of the access
// token (both RS256 and ES256 hash with SHA-256).
func accessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// idTokenAlg is the algorithm of client c's ID tokens.
func idTokenAlg(c storage.Client) jose.SignatureAlgorithm {
	if c.IDTokenAlg != "" {
		return jose.SignatureAlgorithm(c.IDTokenAlg)
	}
	return jose.SignatureAlgorithm(IDTokenAlgs[0])
}

// signIDToken adds an ID token to res when it was granted the openid scope
// and a person signed in; at is the access token res carries.
func (s *Server) signIDToken(ctx context.Context, res *TokenResult, at *storage.AccessToken, si signIn) *Error {
	if res.Account == nil || !slices.Contains(res.Scopes, ScopeOpenID) {
		return nil
	}
	now := s.now()
	tc, err := s.claims(ctx, accessTokenInfo(*at, now), res.Account, &res.Client)
	if err != nil {
		return s.unavailable(ctx, "project ID token claims", err)
	}
	c := IDTokenClaims{Issuer: s.issuer, Audience: res.Client.ID, AuthorizedParty: res.Client.ID,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(IDTokenTTL).Unix(), Nonce: si.nonce,
		AccessTokenHash: accessTokenHash(res.AccessToken), ACR: ACRPassword, AMR: []string{"pwd"},
		UserClaims: userClaims(tc, res.Account, res.Scopes)}
	if !si.authTime.IsZero() {
		c.AuthTime = si.authTime.Unix()
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return s.unavailable(ctx, "encode ID token", err)
	}
	signer, err := s.keyring.SignerFor(ctx, idTokenAlg(res.Client), idTokenTyp)
	if err != nil {
		return s.unavailable(ctx, "load ID token signing key", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return s.unavailable(ctx, "sign ID token", err)
	}
	if res.IDToken, err = jws.CompactSerialize(); err != nil {
		return s.unavailable(ctx, "serialize ID token", err)
	}
	return nil
}

// finish turns minted tokens into what the client gets: the JWT access
// token for clients that want one, then the ID token, whose at_hash is of
// that final access token.
func (s *Server) finish(ctx context.Context, res *TokenResult, at *storage.AccessToken, si signIn) *Error {
	if oerr := s.signJWT(ctx, res, at); oerr != nil {
		return oerr
	}
	return s.signIDToken(ctx, res, at, si)
}

// IDTokenHint is what a verified id_token_hint says.
type IDTokenHint struct {
	Subject  string // the account that signed in
	ClientID string // the client it was issued to
}

// errBadHint is every reason an id_token_hint is refused.
var errBadHint = errors.New("the id_token_hint is not an ID token this server issued")

// VerifyIDTokenHint checks an ID token sent back as id_token_hint: signed
// by one of this server's published keys, for this issuer. An expired one
// is accepted (OpenID Connect Core §3.1.2.1 and RP-Initiated Logout §2);
// access tokens are not. A storage failure is returned as it is.
func (s *Server) VerifyIDTokenHint(ctx context.Context, token string) (IDTokenHint, error) {
	if len(token) > authorizeParamsMaxLen*4 {
		return IDTokenHint{}, errBadHint
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return IDTokenHint{}, errBadHint
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, idTokenTyp) {
		return IDTokenHint{}, errBadHint
	}
	key, err := s.keyring.PublicKey(ctx, h.KeyID)
	if errors.Is(err, signing.ErrUnknownKey) {
		return IDTokenHint{}, errBadHint // not ours, or its key has expired
	}
	if err != nil {
		return IDTokenHint{}, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return IDTokenHint{}, errBadHint
	}
	var c IDTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != s.issuer || c.Subject == "" || c.Audience == "" {
		return IDTokenHint{}, errBadHint
	}
	return IDTokenHint{Subject: c.Subject, ClientID: c.Audience}, nil
}

// Userinfo answers the claims about the person an access token was issued
// for (OpenID Connect Core §5.3). The token must carry openid.
func (s *Server) Userinfo(ctx context.Context, token string) (UserClaims, *Error) {
	ti, oerr := s.checkAccess(ctx, token)
	if oerr != nil {
		return UserClaims{}, oerr
	}
	if !slices.Contains(ti.scopes, ScopeOpenID) {
		return UserClaims{}, InsufficientScope(ScopeOpenID)
	}
	if ti.account == "" {
		return UserClaims{}, Forbidden("the access token was issued to a client, not to a person")
	}
	a, err := s.store.GetAccount(ctx, ti.account)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return UserClaims{}, InvalidToken("the account of this access token no longer exists")
	case err != nil:
		return UserClaims{}, s.unavailable(ctx, "load account for userinfo", err)
	case a.Disabled:
		return UserClaims{}, InvalidToken("the account of this access token is disabled")
	}
	tc, err := s.claims(ctx, ti, &a, nil)
	if err != nil {
		return UserClaims{}, s.unavailable(ctx, "project userinfo claims", err)
	}
	return userClaims(tc, &a, ti.scopes), nil
}
