package storage

import (
	"slices"
	"time"
)

// Merchant is a business on the platform: a loyalty program, a store.
type Merchant struct {
	ID             string
	Name           string
	OrganizationID string // empty when the merchant belongs to no organization
	CreatedAt      time.Time
}

// Organization is a group of merchants.
type Organization struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// AccountKind says who an account is and how it logs in.
type AccountKind string

// The kinds of account.
const (
	// Guest is a loyalty member of exactly one merchant; usernames are unique per merchant.
	Guest AccountKind = "guest"
	// Staff is a merchant employee or owner with memberships in merchants and organizations.
	Staff AccountKind = "staff"
)

// Valid reports whether k is a known kind.
func (k AccountKind) Valid() bool { return k == Guest || k == Staff }

// OwnerType is the kind of party a token acts for.
type OwnerType string

// The resource owner types a token can carry.
const (
	OwnerGuest        OwnerType = "guest"
	OwnerMerchant     OwnerType = "merchant"
	OwnerOrganization OwnerType = "organization"
	OwnerClient       OwnerType = "client"
)

// ResourceOwner is the party a grant acts for.
type ResourceOwner struct {
	Type OwnerType
	ID   string
}

// Membership ties a staff account to a merchant or an organization.
type Membership struct {
	Type OwnerType // OwnerMerchant or OwnerOrganization
	ID   string
}

// Account is a person who logs in.
type Account struct {
	ID                string
	Kind              AccountKind
	MerchantID        string // the guest's merchant; empty for staff
	Username          string
	PasswordHash      string // Argon2id, PHC string format
	PrintedCardNumber string // guests only, optional
	Disabled          bool
	Memberships       []Membership // staff only
	CreatedAt         time.Time
	// TokensRevokedAt is when a password change or a disabling last revoked
	// everything issued to the account (zero: never); CreateAccount ignores
	// it. Tokens and codes keep the value it had when they were issued, as
	// their AccountEpoch; one whose AccountEpoch differs reads as revoked,
	// at this time.
	TokensRevokedAt time.Time
}

// Client is an integrator app.
type Client struct {
	ID   string
	Name string
	// SecretHash is the keyed hash of the client secret; empty for a public client.
	SecretHash     string
	GrantTypes     []string
	Scopes         []string // the scopes the client may ask for
	DefaultScopes  []string // granted when a request names none
	RedirectURIs   []string // matched exactly
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the absolute lifetime of a refresh token family; 0 means no limit.
	RefreshTokenTTL time.Duration
	MerchantID      string // tokens of a bound client act for this merchant
	// OrganizationID binds the client to an organization instead: its
	// client_credentials tokens act for it. A client has at most one binding.
	OrganizationID string
	// AuthMethod is the token_endpoint_auth_method it registered:
	// client_secret_post, or "" (client_secret_basic, or none for a public
	// client). Either secret method authenticates it; this is what the
	// admin API shows back.
	AuthMethod    string
	AccountKind   AccountKind // the kind of account the client logs in
	SkipConsent   bool
	RotateRefresh bool
	// RefreshGrace is how long a retry of a just-rotated refresh token gets the same successor.
	RefreshGrace      time.Duration
	RequirePKCE       bool // always true in effect for public clients
	AllowPlainPKCE    bool
	AccessTokenFormat string // "opaque" or "jwt"
	// Dialect names the vendor dialect the client was registered for (a
	// name of the dialect registry), or is empty for a standard client.
	Dialect string
	// Audience is the aud of the client's JWT access tokens; the issuer when empty.
	Audience string
	// ClientCredentialsRefresh issues a refresh token with client_credentials
	// too, which RFC 6749 §4.4.3 advises against but Flexiti's clients expect.
	ClientCredentialsRefresh bool
	// Introspect lets a confidential client introspect other clients'
	// tokens (RFC 7662 §4), as a resource server does; bound to a merchant,
	// only tokens of that merchant. Without it a client introspects only its own.
	Introspect bool
	// IDTokenAlg is the JWS algorithm of the client's ID tokens
	// (OpenID Connect's id_token_signed_response_alg): "RS256" when empty, or "ES256".
	IDTokenAlg string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser back to, matched exactly.
	PostLogoutRedirectURIs []string
	CreatedAt              time.Time
}

// Public reports whether the client has no secret.
func (c Client) Public() bool { return c.SecretHash == "" }

// AllowsGrant reports whether the client may use grant type g.
func (c Client) AllowsGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// AuthCode is an authorization code. Its ID is the hash of the code.
type AuthCode struct {
	ID                  string
	ClientID            string
	AccountID           string
	Owner               ResourceOwner
	Scopes              []string
	RedirectURI         string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	AuthTime            time.Time
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              time.Time // zero until redeemed
	AccountEpoch        time.Time // the account's TokensRevokedAt at issue
}

// AccessToken is an issued access token. Its ID is the hash of the token (or the JWT's jti).
type AccessToken struct {
	ID        string
	FamilyID  string // shared with the refresh tokens of the same grant; empty when there are none and no code
	ClientID  string
	AccountID string
	Owner     ResourceOwner
	Scopes    []string
	IssuedAt  time.Time
	ExpiresAt time.Time // zero means the token never expires
	// RevokedAt is when the token was revoked: by itself, with its family,
	// or with everything of its account (see Account.TokensRevokedAt).
	RevokedAt    time.Time
	AccountEpoch time.Time // the account's TokensRevokedAt at issue
}

// RefreshToken is an issued refresh token. Its ID is the hash of the token.
type RefreshToken struct {
	ID            string
	FamilyID      string
	ClientID      string
	AccountID     string
	Owner         ResourceOwner
	Scopes        []string
	AccessTokenID string // the access token issued with it
	IssuedAt      time.Time
	ExpiresAt     time.Time // zero means no expiry
	RotatedAt     time.Time // set when a successor replaced it
	SuccessorID   string
	RevokedAt     time.Time // as AccessToken.RevokedAt
	AccountEpoch  time.Time // the account's TokensRevokedAt at issue
}

// TokenSet is what one grant issues; either field may be nil.
type TokenSet struct {
	Access  *AccessToken
	Refresh *RefreshToken
	// Event, when set, is the audit event of the issue ("token.issued"),
	// stored in the same transaction as the tokens: it exists exactly
	// when they do.
	Event *AuditEvent
}

// Rotation asks to retire refresh token OldID and store its successors.
//
// If OldID is live, it is marked rotated and Access and Refresh are stored
// (OutcomeRotated). If it was rotated no longer than Grace ago and its
// successor is live and has not been rotated itself, nothing changes and the
// existing successor is returned (OutcomeGrace). Otherwise presenting it is a
// replay: the whole family is revoked and ErrTokenReused returned.
type Rotation struct {
	OldID   string
	Access  AccessToken
	Refresh RefreshToken
	Now     time.Time
	Grace   time.Duration
	// FamilyExpiresAt is when the family's last token expires (zero:
	// never), for the revocation a replay records (see RevokeFamily).
	FamilyExpiresAt time.Time
	// Event, when set, is stored with the successors (see TokenSet.Event):
	// only when the outcome is OutcomeRotated.
	Event *AuditEvent
}

// RotationOutcome says which rule of Rotation applied.
type RotationOutcome int

// The outcomes of a successful RotateRefreshToken.
const (
	OutcomeRotated RotationOutcome = iota + 1
	OutcomeGrace
)

// RotationResult reports a successful rotation.
type RotationResult struct {
	Outcome RotationOutcome
	// Old is the presented token. After OutcomeRotated only its ID,
	// RotatedAt and SuccessorID are filled: the caller has read the rest.
	Old       RefreshToken
	Successor RefreshToken
}

// Consent is a remembered approval of scopes for a client, by an account, for an owner.
type Consent struct {
	AccountID string
	ClientID  string
	Owner     ResourceOwner
	Scopes    []string
	GrantedAt time.Time
}

// Session is a browser login session. Its ID is the hash of the cookie value.
type Session struct {
	ID        string
	AccountID string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SigningKey is a key that signs JWT access tokens.
type SigningKey struct {
	ID         string // the JWK "kid"
	Algorithm  string
	PublicJWK  string // JSON
	PrivateKey []byte // encrypted with the deployment's system secret
	CreatedAt  time.Time
	SignFrom   time.Time // published before it signs, so verifiers have it first
	RetiredAt  time.Time // stops signing; zero while active
	ExpiresAt  time.Time // stops being published; zero while active
}

// DeviceStatus is the state of a device authorization.
type DeviceStatus string

// The states of a device code.
const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
	DeviceUsed     DeviceStatus = "used"
)

// DeviceCode is an RFC 8628 device authorization. Its ID is the hash of the device code.
type DeviceCode struct {
	ID           string
	UserCodeHash string
	ClientID     string
	Scopes       []string
	Status       DeviceStatus
	AccountID    string
	Owner        ResourceOwner
	Interval     time.Duration // how long the device must wait between polls; slow_down adds to it
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastPolledAt time.Time // zero until the device first polls
	// Set by the approval: the account's TokensRevokedAt then, and when
	// the person approving signed in.
	AccountEpoch time.Time
	AuthTime     time.Time
}

// DeviceDecision is a person's answer to a device authorization.
type DeviceDecision struct {
	Approve      bool
	AccountID    string
	Owner        ResourceOwner
	AccountEpoch time.Time // the account's TokensRevokedAt when it approved
	AuthTime     time.Time // when the person approving signed in
	Now          time.Time
}

// DevicePoll is what one poll of a device code found.
type DevicePoll struct {
	Code DeviceCode // as it is after the poll
	// TooSoon means the poll came within the interval of the previous one;
	// the interval has grown by the slow-down step (RFC 8628 §3.5).
	TooSoon bool
}

// AuditEvent records one administrative change or security event. It
// never holds a secret, a token, a code or anything a person typed as a
// password or username; subjects and actors are ids ("account:acc_…").
type AuditEvent struct {
	ID             string // sortable by time (secrets.SortableID("ev_"))
	Time           time.Time
	Type           string // such as "client.created", "login.failed"
	Actor          string // who made the change: "cli", "client:<id>", "" for the public
	Subject        string // what it is about: "account:<id>", "client:<id>", …
	ClientID       string
	MerchantID     string
	OrganizationID string
	Source         string // the caller's address, when known
	RequestID      string
	Detail         map[string]string
}

// AuditFilter narrows ListAuditEvents; zero fields match everything.
type AuditFilter struct {
	Since, Until time.Time // Since inclusive, Until exclusive
	Type         string
	Actor        string
	Subject      string
	MerchantID   string
	// OrganizationID selects the events that name the organization.
	OrganizationID string
	ClientID       string
	After          string // cursor: only events whose ID sorts after it
	Limit          int    // DefaultAuditLimit when 0; at most MaxAuditLimit
}

// Bounds of AuditFilter.Limit.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)
