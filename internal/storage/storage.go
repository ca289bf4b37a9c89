// Package storage defines latchkey's domain model and the one interface every
// storage backend implements. Backends live in sub-packages; the conformance
// sub-package holds the tests each of them must pass.
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

// Storage is everything latchkey keeps. Implementations must be safe for
// concurrent use, and every write must be durable before the call returns.
type Storage interface {
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close waits for pending writes and releases the database.
	Close() error

	CreateMerchant(ctx context.Context, m Merchant) error
	GetMerchant(ctx context.Context, id string) (Merchant, error)
	ListMerchants(ctx context.Context) ([]Merchant, error)
	DeleteMerchant(ctx context.Context, id string) error

	CreateOrganization(ctx context.Context, o Organization) error
	GetOrganization(ctx context.Context, id string) (Organization, error)
	ListOrganizations(ctx context.Context) ([]Organization, error)
	DeleteOrganization(ctx context.Context, id string) error

	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccountByUsername finds a guest of merchantID, or a staff account when
	// kind is Staff (merchantID is then ignored). Usernames match case-insensitively.
	GetAccountByUsername(ctx context.Context, kind AccountKind, merchantID, username string) (Account, error)
	ListAccounts(ctx context.Context, f AccountFilter) ([]Account, error)
	// UpdateAccount applies fn to the stored account atomically.
	UpdateAccount(ctx context.Context, id string, fn func(Account) (Account, error)) error
	DeleteAccount(ctx context.Context, id string) error

	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	// UpdateClient applies fn to the stored client atomically.
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, error)) error
	DeleteClient(ctx context.Context, id string) error

	CreateAuthCode(ctx context.Context, c AuthCode) error
	GetAuthCode(ctx context.Context, id string) (AuthCode, error)
	// RedeemAuthCode marks the code used and stores the tokens issued for it,
	// in one transaction. Of many concurrent calls exactly one succeeds; the
	// others get ErrAlreadyUsed (or ErrExpired, ErrNotFound) and store nothing.
	RedeemAuthCode(ctx context.Context, id string, now time.Time, tokens TokenSet) error

	// CreateTokens stores a newly issued access token and/or refresh token.
	CreateTokens(ctx context.Context, tokens TokenSet) error
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// RotateRefreshToken retires a refresh token and stores its successors.
	// See Rotation for the rules; the outcome says which one applied.
	RotateRefreshToken(ctx context.Context, r Rotation) (RotationResult, error)
	RevokeAccessToken(ctx context.Context, id string, now time.Time) error
	RevokeRefreshToken(ctx context.Context, id string, now time.Time) error
	// RevokeFamily revokes every access and refresh token of a family, those
	// a rotation racing it stores included. expiresAt is when the family's
	// last token expires (zero: never); the revocation is kept until then.
	// Revoking the empty family does nothing.
	RevokeFamily(ctx context.Context, familyID string, now, expiresAt time.Time) error

	GetConsent(ctx context.Context, accountID, clientID string, owner ResourceOwner) (Consent, error)
	// SaveConsent creates or replaces the consent for its account, client and owner.
	SaveConsent(ctx context.Context, c Consent) error
	ListConsents(ctx context.Context, accountID string) ([]Consent, error)
	DeleteConsent(ctx context.Context, accountID, clientID string, owner ResourceOwner) error

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	DeleteSession(ctx context.Context, id string) error

	CreateSigningKey(ctx context.Context, k SigningKey) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, id string, fn func(SigningKey) (SigningKey, error)) error
	DeleteSigningKey(ctx context.Context, id string) error

	CreateDeviceCode(ctx context.Context, d DeviceCode) error
	GetDeviceCode(ctx context.Context, id string) (DeviceCode, error)
	GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (DeviceCode, error)
	// DecideDeviceCode approves or denies a pending device code.
	DecideDeviceCode(ctx context.Context, id string, d DeviceDecision) error
	// RedeemDeviceCode marks an approved device code used and stores its
	// tokens; like RedeemAuthCode, exactly one of many concurrent calls succeeds.
	RedeemDeviceCode(ctx context.Context, id string, now time.Time, tokens TokenSet) error

	// LoginFailures returns the failed logins counted under key in the current window.
	LoginFailures(ctx context.Context, key string, now time.Time) (Failures, error)
	// AddLoginFailure counts one failed login under key, starting a new
	// window of the given length if none is running, and returns the count.
	AddLoginFailure(ctx context.Context, key string, now time.Time, window time.Duration) (Failures, error)
	// ClearLoginFailures forgets the failures counted under key.
	ClearLoginFailures(ctx context.Context, key string) error

	// DeleteExpired removes rows that expired before the given time and can no
	// longer matter (codes, tokens, sessions, device codes); it returns how many.
	DeleteExpired(ctx context.Context, before time.Time) (int64, error)
}

// Failures is a count of failed logins within a window that ends at ResetAt.
type Failures struct {
	Count   int
	ResetAt time.Time
}

// AccountFilter narrows ListAccounts; zero fields match everything.
type AccountFilter struct {
	Kind       AccountKind
	MerchantID string
}
