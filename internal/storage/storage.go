// Package storage defines latchkey's domain model and the one interface every
// storage backend implements, Storage, made of small role interfaces that
// consumers depend on instead. Backends live in sub-packages; the
// conformance sub-package holds the tests each of them must pass.
package storage

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns, so callers never see a driver's error.
var (
	// ErrNotFound means no row has the given key.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a row with the same unique key exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInUse means the row is still referenced by others and cannot be deleted,
	// or a row it references does not exist.
	ErrInUse = errors.New("referenced by other records")
	// ErrKindChange means an update would turn a guest account into staff
	// or back, or change what a client is bound to or whom it logs in.
	ErrKindChange = errors.New("an account's kind or a client's binding cannot change")
	// ErrAlreadyUsed means a single-use grant (code, device code) was redeemed before.
	ErrAlreadyUsed = errors.New("already used")
	// ErrExpired means the grant or token is past its expiry time.
	ErrExpired = errors.New("expired")
	// ErrRevoked means the token was revoked.
	ErrRevoked = errors.New("revoked")
	// ErrTokenReused means a rotated refresh token was presented again; its family is now revoked.
	ErrTokenReused = errors.New("refresh token reused; token family revoked")
	// ErrNotPending means a device code was already approved, denied or redeemed.
	ErrNotPending = errors.New("device code is no longer pending")
)

// Storage is everything latchkey keeps: every role below, in one backend.
// Implementations must be safe for concurrent use, and every write must be
// durable before the call returns. Code that needs only part of it takes
// the role interface it uses instead, so its dependency is visible and a
// test can fake just that.
type Storage interface {
	Pinger
	Directory
	Grants
	Consents
	Sessions
	SigningKeys
	LoginThrottle
	Sweeper
	AuditLog
	Importer

	// Close waits for pending writes and releases the database.
	Close() error
}

// Pinger is the readiness probe of a backend.
type Pinger interface {
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// Directory is who exists: merchants and organizations, the accounts
// people log in with, and the integrator apps; and the revocations that
// take back, at once, what one of them was issued.
type Directory interface {
	Merchants
	Organizations
	Accounts
	Clients
	Revocations
}

// Merchants keeps the merchants: the businesses on the platform.
type Merchants interface {
	// CreateMerchant stores a new merchant.
	CreateMerchant(ctx context.Context, m Merchant) error
	// GetMerchant returns the merchant with the given id.
	GetMerchant(ctx context.Context, id string) (Merchant, error)
	// ListMerchants returns every merchant.
	ListMerchants(ctx context.Context) ([]Merchant, error)
	// DeleteMerchant removes a merchant; ErrInUse while anything references it.
	DeleteMerchant(ctx context.Context, id string) error
}

// Organizations keeps the organizations that group merchants.
type Organizations interface {
	// CreateOrganization stores a new organization.
	CreateOrganization(ctx context.Context, o Organization) error
	// GetOrganization returns the organization with the given id.
	GetOrganization(ctx context.Context, id string) (Organization, error)
	// ListOrganizations returns every organization.
	ListOrganizations(ctx context.Context) ([]Organization, error)
	// DeleteOrganization removes an organization; ErrInUse while anything references it.
	DeleteOrganization(ctx context.Context, id string) error
}

// Accounts keeps the accounts people log in with.
type Accounts interface {
	// CreateAccount stores a new account.
	CreateAccount(ctx context.Context, a Account) error
	// GetAccount returns the account with the given id.
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccountByUsername finds a guest of merchantID, or a staff account when
	// kind is Staff (merchantID is then ignored). Usernames match case-insensitively.
	GetAccountByUsername(ctx context.Context, kind AccountKind, merchantID, username string) (Account, error)
	// ListAccounts returns the accounts that match f.
	ListAccounts(ctx context.Context, f AccountFilter) ([]Account, error)
	// UpdateAccount applies fn to the stored account atomically. It revokes
	// nothing: a change of password or a disabling goes through the calls below.
	UpdateAccount(ctx context.Context, id string, fn func(Account) (Account, error)) error
	// SetAccountPassword stores a new password hash and, in the same
	// transaction, revokes as of now every token and code issued to the
	// account (see Account.TokensRevokedAt) and deletes its sessions.
	SetAccountPassword(ctx context.Context, id, passwordHash string, now time.Time) error
	// SetAccountDisabled disables or enables an account; disabling it also
	// revokes, in the same transaction, what SetAccountPassword does.
	SetAccountDisabled(ctx context.Context, id string, disabled bool, now time.Time) error
	// DeleteAccount removes an account.
	DeleteAccount(ctx context.Context, id string) error
	// CountPasswordSchemes counts accounts by the scheme of their password
	// hash, named as secrets.PasswordScheme names it ("bcrypt", "argon2id",
	// …), "none" for an empty hash and "other" for a form it does not know.
	// Schemes no account uses are absent. It reads only hash prefixes.
	CountPasswordSchemes(ctx context.Context) (map[string]int64, error)
}

// Revocations revokes, in one write, everything issued to an account, a
// client or a resource owner, as an administrator does when one of them is
// compromised. Each call is one transaction; what it revokes reads as
// revoked (AccessToken.RevokedAt, RefreshToken.RevokedAt) at now, and a
// revoked refresh token can no longer be rotated. Repeating a call revokes
// only what was issued in between. Tokens already revoked keep their time.
type Revocations interface {
	// RevokeAccountTokens revokes, as of now, every token and code issued
	// to the account and deletes its sessions, exactly as
	// SetAccountPassword does (it moves Account.TokensRevokedAt), leaving
	// the password hash and the disabled flag as they are. ErrNotFound for
	// an unknown account.
	RevokeAccountTokens(ctx context.Context, accountID string, now time.Time) error
	// RevokeClientTokens revokes every unrevoked, unexpired access and
	// refresh token issued to the client (rotated refresh tokens
	// included), whoever it acts for, and
	// spends its unused authorization codes and denies its pending or
	// approved device codes, so none of them yields a token afterwards.
	// It returns how many tokens it revoked (codes are not counted);
	// ErrNotFound for an unknown client. The client, its consents and its
	// tokens' rows stay.
	RevokeClientTokens(ctx context.Context, clientID string, now time.Time) (int64, error)
	// RevokeGrantTokens revokes what RevokeClientTokens does, limited to
	// what client clientID was issued for account accountID, whoever it
	// acts for: what a withdrawn consent takes back. It returns how many
	// tokens it revoked; ErrNotFound for an unknown account.
	RevokeGrantTokens(ctx context.Context, accountID, clientID string, now time.Time) (int64, error)
	// RevokeOwnerTokens revokes what RevokeClientTokens does, for every
	// token and code acting for owner. For a merchant that is "everything
	// of the merchant":
	//   - tokens whose owner is the merchant (its staff acting for it,
	//     client_credentials of its bound clients);
	//   - tokens of its guests (owner guest:<account> whose account's
	//     merchant it is), whichever client they were issued to;
	//   - every token of the clients bound to it (Client.MerchantID),
	//     whoever they act for.
	// Not included: tokens acting for the merchant's organization, and
	// tokens of its staff acting for another merchant; staff sessions and
	// account epochs are left alone (use RevokeAccountTokens for a person).
	// For another owner type only the tokens whose owner it is are
	// revoked. It returns how many tokens it revoked; ErrNotFound for an
	// unknown owner.
	RevokeOwnerTokens(ctx context.Context, owner ResourceOwner, now time.Time) (int64, error)
}

// Clients keeps the integrator apps.
type Clients interface {
	// CreateClient stores a new client.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns the client with the given id.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client.
	ListClients(ctx context.Context) ([]Client, error)
	// UpdateClient applies fn to the stored client atomically.
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, error)) error
	// DeleteClient removes a client.
	DeleteClient(ctx context.Context, id string) error
}

// Importer stores records in bulk, for `latchkey import` moving a platform
// onto latchkey: many rows per transaction, without the Directory's one
// write per record. Each call is one transaction over its batch (rolled
// back under DryRun); a row whose id exists is skipped, or replaced under
// Update, and a row refused by the database (a username another account
// holds, a reference gone) is reported in ImportResult.Failed while the
// others are stored. The caller applies the Directory's rules first.
type Importer interface {
	// ImportOrganizations stores organizations; Update replaces the name.
	ImportOrganizations(ctx context.Context, orgs []Organization, o ImportOptions) (ImportResult, error)
	// ImportMerchants stores merchants; Update replaces name and organization.
	ImportMerchants(ctx context.Context, merchants []Merchant, o ImportOptions) (ImportResult, error)
	// ImportAccounts stores accounts with their memberships. Update
	// replaces merchant, username, password hash, card, disabled flag and
	// memberships, never the kind (a row changing it fails) or creation
	// time; a replaced password hash or a disabling revokes, as of o.Now,
	// what SetAccountPassword does.
	ImportAccounts(ctx context.Context, accounts []Account, o ImportOptions) (ImportResult, error)
	// ImportClients stores clients; Update replaces every field but the
	// creation time, the secret hash included.
	ImportClients(ctx context.Context, clients []Client, o ImportOptions) (ImportResult, error)
}

// ImportOptions say what an Importer call does with existing rows.
type ImportOptions struct {
	Update bool      // replace rows whose id exists instead of skipping them
	DryRun bool      // check everything, write nothing (the transaction is rolled back)
	Now    time.Time // when an update revokes (accounts)
}

// ImportResult counts what an Importer call did with its batch. A row
// given twice in one batch counts once per occurrence: the later is
// skipped, or under Update replaces the earlier.
type ImportResult struct {
	Created, Updated, Skipped int
	// Failed holds, by index in the batch, why a row was not stored:
	// ErrAlreadyExists for a username another account holds, ErrNotFound
	// for a merchant or organization that does not exist, and a sentence
	// for a change of an account's kind.
	Failed map[int]error
}

// Grants is what authorizations produce: authorization codes, device
// codes, and the access and refresh tokens they are redeemed for.
type Grants interface {
	AuthCodes
	DeviceCodes
	Tokens
}

// AuthCodes keeps authorization codes (RFC 6749 §4.1) until they are redeemed.
type AuthCodes interface {
	// CreateAuthCode stores a newly issued authorization code.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// GetAuthCode returns the authorization code with the given id.
	GetAuthCode(ctx context.Context, id string) (AuthCode, error)
	// GetAuthCodeGrant is GetAuthCode with the code's account read in the
	// same query, for redeeming it: the account comes without its password
	// hash and memberships, and is nil when the code names none or the
	// account no longer exists.
	GetAuthCodeGrant(ctx context.Context, id string) (AuthCode, *Account, error)
	// RedeemAuthCode marks the code used and stores the tokens issued for it,
	// in one transaction. Of many concurrent calls exactly one succeeds; the
	// others get ErrAlreadyUsed (or ErrExpired, ErrNotFound) and store nothing.
	RedeemAuthCode(ctx context.Context, id string, now time.Time, tokens TokenSet) error
	// SpendAuthCode marks the code used without issuing anything, after a
	// redemption that failed a check (client, redirect URI, PKCE), so the
	// code cannot be tried again. A used code is left as it is; an unknown
	// one is ErrNotFound.
	SpendAuthCode(ctx context.Context, id string, now time.Time) error
}

// DeviceCodes keeps device authorization grants (RFC 8628) from issue to redemption.
type DeviceCodes interface {
	// CreateDeviceCode stores a new device authorization.
	CreateDeviceCode(ctx context.Context, d DeviceCode) error
	// GetDeviceCode returns the device code with the given id.
	GetDeviceCode(ctx context.Context, id string) (DeviceCode, error)
	// GetDeviceCodeByUserCode finds the device code whose user code hashes to userCodeHash.
	GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (DeviceCode, error)
	// DecideDeviceCode approves or denies a pending device code.
	DecideDeviceCode(ctx context.Context, id string, d DeviceDecision) error
	// PollDeviceCode records a poll of device code id at now, atomically: a
	// poll sooner than Interval after the previous one adds slowDown to the
	// interval and is reported TooSoon. ErrNotFound for an unknown id.
	PollDeviceCode(ctx context.Context, id string, now time.Time, slowDown time.Duration) (DevicePoll, error)
	// RedeemDeviceCode marks an approved device code used and stores its
	// tokens; like RedeemAuthCode, exactly one of many concurrent calls succeeds.
	RedeemDeviceCode(ctx context.Context, id string, now time.Time, tokens TokenSet) error
}

// Tokens keeps access and refresh tokens: issue, lookup, rotation and revocation.
type Tokens interface {
	// CreateTokens stores a newly issued access token and/or refresh token.
	CreateTokens(ctx context.Context, tokens TokenSet) error
	// GetAccessToken returns the access token with the given id.
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
	// GetRefreshToken returns the refresh token with the given id.
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// GetRefreshGrant is GetRefreshToken with the token's account read in
	// the same query, for a refresh: the account comes without its password
	// hash and memberships, and is nil when the token names none or the
	// account no longer exists.
	GetRefreshGrant(ctx context.Context, id string) (RefreshToken, *Account, error)
	// RotateRefreshToken retires a refresh token and stores its successors.
	// See Rotation for the rules; the outcome says which one applied.
	RotateRefreshToken(ctx context.Context, r Rotation) (RotationResult, error)
	// RevokeAccessToken revokes one access token as of now.
	RevokeAccessToken(ctx context.Context, id string, now time.Time) error
	// RevokeRefreshToken revokes one refresh token as of now.
	RevokeRefreshToken(ctx context.Context, id string, now time.Time) error
	// RevokeFamily revokes every access and refresh token of a family, those
	// a rotation racing it stores included. expiresAt is when the family's
	// last token expires (zero: never); the revocation is kept until then.
	// Revoking the empty family does nothing.
	RevokeFamily(ctx context.Context, familyID string, now, expiresAt time.Time) error
}

// Consents keeps what each account has allowed each client to do, per resource owner.
type Consents interface {
	// GetConsent returns the consent of an account to a client for owner.
	GetConsent(ctx context.Context, accountID, clientID string, owner ResourceOwner) (Consent, error)
	// SaveConsent creates or replaces the consent for its account, client and owner.
	SaveConsent(ctx context.Context, c Consent) error
	// ListConsents returns every consent an account has given.
	ListConsents(ctx context.Context, accountID string) ([]Consent, error)
	// DeleteConsent withdraws the consent of an account to a client for owner.
	DeleteConsent(ctx context.Context, accountID, clientID string, owner ResourceOwner) error
}

// Sessions keeps browser login sessions.
type Sessions interface {
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session with the given id.
	GetSession(ctx context.Context, id string) (Session, error)
	// DeleteSession ends a session.
	DeleteSession(ctx context.Context, id string) error
}

// SigningKeys keeps the encrypted keys that sign JWT access tokens.
type SigningKeys interface {
	// CreateSigningKey stores a new signing key.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every stored signing key.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateSigningKey applies fn to the stored key atomically.
	UpdateSigningKey(ctx context.Context, id string, fn func(SigningKey) (SigningKey, error)) error
	// DeleteSigningKey removes a signing key.
	DeleteSigningKey(ctx context.Context, id string) error
}

// LoginThrottle counts failed guesses (passwords, client secrets) under
// throttle keys, in the database so that every node sees them. A guess is
// checked first; its failure is then counted atomically, only while the
// keys allow, so of concurrent failures no more are counted (and answered
// as failures) than the rules allow. Keys never hold what anyone typed.
type LoginThrottle interface {
	// CountFailure counts one failure under each key, in one write, if
	// none of them makes failures wait at now. If one does, nothing is
	// counted and its Failures (Counted false) say until when; otherwise
	// the first key's Failures are returned, Counted true.
	CountFailure(ctx context.Context, now time.Time, keys ...ThrottleKey) (Failures, error)
	// Failures reads what is counted under each key at now, in order.
	Failures(ctx context.Context, now time.Time, keys ...string) ([]Failures, error)
	// ForgetFailures forgets what is counted under the keys.
	ForgetFailures(ctx context.Context, keys ...string) error
}

// Sweeper removes rows nobody needs any more.
type Sweeper interface {
	// DeleteExpired removes rows that expired before the given time and can no
	// longer matter (codes, tokens, sessions, device codes); it returns how many.
	DeleteExpired(ctx context.Context, before time.Time) (int64, error)
}

// AuditLog keeps the audit events: administrative changes and security events.
type AuditLog interface {
	// AppendAuditEvents stores events, durable when the call returns.
	AppendAuditEvents(ctx context.Context, events ...AuditEvent) error
	// ListAuditEvents returns the events f selects, ordered by ID, at most
	// f.Limit of them (see DefaultAuditLimit, MaxAuditLimit).
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// DeleteAuditEventsBefore removes the events older than before and
	// returns how many.
	DeleteAuditEventsBefore(ctx context.Context, before time.Time) (int64, error)
}

// ThrottleKey is a throttle key with the rule that bounds it.
type ThrottleKey struct {
	Key  string
	Rule ThrottleRule
}

// ThrottleRule bounds the failures under a key: Free are counted at once;
// after the Free-th, the next waits Delay, and each further one twice as
// long as the one before, up to MaxDelay. What is counted is forgotten
// Window after the last failure counted; Window should exceed MaxDelay.
type ThrottleRule struct {
	Free     int
	Delay    time.Duration
	MaxDelay time.Duration
	Window   time.Duration
}

// Wait is how long the next failure must wait after the n-th was counted.
func (r ThrottleRule) Wait(n int) time.Duration {
	if n < r.Free {
		return 0
	}
	d := r.Delay
	for i := r.Free; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	return min(d, r.MaxDelay)
}

// Failures is what a throttle key has counted.
type Failures struct {
	Counted bool      // CountFailure counted this failure
	Count   int       // failures counted in the running window, a counted one included
	RetryAt time.Time // no failure is counted before then (zero: one may be now)
	ResetAt time.Time // when what is counted is forgotten (zero: nothing is)
}

// AccountFilter narrows ListAccounts; zero fields match everything.
type AccountFilter struct {
	Kind       AccountKind
	MerchantID string
	// Within, when not empty, keeps the guests of the merchants it names
	// and the staff with a membership it names: a tenant's accounts.
	Within []Membership
	// After and Limit page through the accounts by id: those whose id
	// sorts after After, at most Limit of them. With neither, every
	// account is returned, by username.
	After string
	Limit int
}
