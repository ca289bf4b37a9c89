package importer

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// The records of an import file, one struct per kind; the JSON names are
// the file's field names (and CSV columns). docs/MIGRATING.md documents
// them.

// OrganizationRow is one organization.
type OrganizationRow struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"` // RFC 3339; the import's time when absent
}

// MerchantRow is one merchant.
type MerchantRow struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	OrganizationID string `json:"organization_id"`
	CreatedAt      string `json:"created_at"`
}

// AccountRow is one guest or staff account with its password hash as the
// old system stored it: password_hash in one of the forms
// secrets.CheckImportedHash accepts, or, for a salted SHA-256/512 hex
// digest, password_hash with password_salt, password_salt_order and
// password_scheme.
type AccountRow struct {
	ID                string   `json:"id"`
	Kind              string   `json:"kind"`
	Username          string   `json:"username"`
	MerchantID        string   `json:"merchant_id"`
	PrintedCardNumber string   `json:"printed_card_number"`
	Memberships       []string `json:"memberships"` // merchant:ID, organization:ID
	PasswordHash      string   `json:"password_hash"`
	PasswordSalt      string   `json:"password_salt"`
	PasswordSaltOrder string   `json:"password_salt_order"` // salt_first or password_first
	PasswordScheme    string   `json:"password_scheme"`     // sha256-salted or sha512-salted
	Disabled          bool     `json:"disabled"`
	CreatedAt         string   `json:"created_at"`
}

// ClientRow is one client: its registration in the admin API's (RFC
// 7591) member names, with its existing secret in clear, which is stored
// only as a keyed hash.
type ClientRow struct {
	oauth.ClientRegistration
	ClientSecret string `json:"client_secret"`
	CreatedAt    string `json:"created_at"`
}

const maxClientSecret = 1024

// fieldError is a refusal of one field of a row.
type fieldError struct{ field, reason string }

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

func refuse(field, format string, args ...any) error {
	return &fieldError{field: field, reason: fmt.Sprintf(format, args...)}
}

// directoryFields maps the flags the Directory's sentences name to the
// file's fields, per kind, so a report names the column to fix.
var directoryFields = map[Kind][][2]string{
	Organizations: {{"--id", "id"}, {"--name", "name"}},
	Merchants:     {{"--id", "id"}, {"--name", "name"}, {"--organization", "organization_id"}},
	Accounts: {{"--id", "id"}, {"--kind", "kind"}, {"--username", "username"}, {"--merchant", "merchant_id"},
		{"--card", "printed_card_number"}, {"--member", "memberships"}},
	Clients: {{"--id-token-alg", "id_token_signed_response_alg"}, {"--id", "client_id"}, {"--name", "client_name"},
		{"--introspect", "introspect"}, {"--post-logout-redirect-uri", "post_logout_redirect_uris"},
		{"--organization", "organization_id"}, {"--merchant", "merchant_id"}},
}

// directoryError words a Directory refusal as a field error: the field is
// the first flag the sentence names, and the flags become field names.
func directoryError(kind Kind, err error) error {
	msg := err.Error()
	field, at := "", len(msg)
	var pairs []string
	for _, p := range directoryFields[kind] { // a flag that starts another comes after it
		if i := strings.Index(msg, p[0]); i >= 0 && i < at {
			field, at = p[1], i
		}
		pairs = append(pairs, p[0], p[1])
	}
	return &fieldError{field: field, reason: strings.NewReplacer(pairs...).Replace(msg)}
}

// createdAt reads an optional RFC 3339 time.
func createdAt(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, refuse("created_at", "must be an RFC 3339 time such as 2024-05-01T12:00:00Z")
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

// ownerRecord checks what organizations and merchants share: the id is
// required, check (the Directory's rule) passes, and created_at reads.
func ownerRecord(kind Kind, id, created string, now time.Time, check func() error) (time.Time, error) {
	if id == "" {
		return time.Time{}, refuse("id", "is required: an import is matched by id, so that running it again skips or updates the record")
	}
	if err := check(); err != nil {
		return time.Time{}, directoryError(kind, err)
	}
	return createdAt(created, now)
}

func (r *OrganizationRow) record(now time.Time) (storage.Organization, error) {
	o := storage.Organization{ID: r.ID, Name: r.Name}
	var err error
	o.CreatedAt, err = ownerRecord(Organizations, r.ID, r.CreatedAt, now, func() error { return oauth.CheckOrganization(o) })
	return o, err
}

func (r *MerchantRow) record(now time.Time) (storage.Merchant, error) {
	m := storage.Merchant{ID: r.ID, Name: r.Name, OrganizationID: r.OrganizationID}
	var err error
	m.CreatedAt, err = ownerRecord(Merchants, r.ID, r.CreatedAt, now, func() error { return oauth.CheckMerchant(m) })
	return m, err
}

func (r *AccountRow) record(now time.Time, allowWeak []string) (storage.Account, error) {
	a := storage.Account{ID: r.ID, Kind: storage.AccountKind(r.Kind), Username: r.Username, MerchantID: r.MerchantID,
		PrintedCardNumber: r.PrintedCardNumber, Disabled: r.Disabled}
	for _, m := range r.Memberships {
		a.Memberships = append(a.Memberships, oauth.ParseMembership(m))
	}
	if err := oauth.CheckImportedAccount(a); err != nil {
		return a, directoryError(Accounts, err)
	}
	hash, err := r.passwordHash(allowWeak)
	if err != nil {
		return a, err
	}
	a.PasswordHash = hash
	a.CreatedAt, err = createdAt(r.CreatedAt, now)
	return a, err
}

// passwordHash is the row's hash as latchkey stores it, checked. Its
// errors come from secrets, which never quote a hash, or name the field.
func (r *AccountRow) passwordHash(allowWeak []string) (string, error) {
	hash := r.PasswordHash
	if r.PasswordScheme != "" || r.PasswordSalt != "" || r.PasswordSaltOrder != "" {
		alg, ok := map[string]string{secrets.SchemeSHA256Salted: "sha256", secrets.SchemeSHA512Salted: "sha512"}[r.PasswordScheme]
		if !ok {
			return "", refuse("password_scheme", "must be %s or %s with password_salt and password_salt_order (other schemes go in password_hash alone)",
				secrets.SchemeSHA256Salted, secrets.SchemeSHA512Salted)
		}
		var saltFirst bool
		switch r.PasswordSaltOrder {
		case "salt_first":
			saltFirst = true
		case "password_first":
		default:
			return "", refuse("password_salt_order", "must be salt_first (the digest is of salt then password) or password_first")
		}
		if hash == "" {
			return "", refuse("password_hash", "is required: the hex digest")
		}
		var err error
		if hash, err = secrets.SaltedSHAHash(alg, saltFirst, r.PasswordSalt, hash); err != nil {
			return "", refuse("password_hash", "%s", err) // secrets never quotes a hash
		}
	}
	if hash == "" {
		return "", refuse("password_hash", "is required (the hash the old system stores; see docs/MIGRATING.md for the forms)")
	}
	if _, err := secrets.CheckImportedHash(hash, allowWeak); err != nil {
		return "", refuse("password_hash", "%s", err)
	}
	return hash, nil
}

func (r *ClientRow) record(now time.Time, keys *secrets.Keys, dialects map[string]oauth.ClientDefaults) (storage.Client, error) {
	if r.ClientID == "" {
		return storage.Client{}, refuse("client_id", "is required: an imported client keeps the id its integrations use")
	}
	c, choices, err := r.Client()
	var fe *oauth.FieldError
	if errors.As(err, &fe) {
		return c, refuse(fe.Field, "%s", fe.Reason)
	}
	// The secret is checked without ever being quoted.
	hash := ""
	switch {
	case choices.Public && r.ClientSecret != "":
		return c, refuse("client_secret", "must be empty for a public client (token_endpoint_auth_method none)")
	case choices.Public:
	case r.ClientSecret == "":
		return c, refuse("client_secret", "is required for a confidential client: the secret its integrations send (or token_endpoint_auth_method none)")
	case len(r.ClientSecret) > maxClientSecret || strings.ContainsFunc(r.ClientSecret, unicode.IsControl):
		return c, refuse("client_secret", "must be 1 to %d bytes without control characters", maxClientSecret)
	default:
		hash = keys.HashClientSecret(r.ClientSecret)
	}
	c, err = oauth.PrepareImportedClient(c, choices, dialects, hash)
	if err != nil {
		return c, directoryError(Clients, err)
	}
	c.CreatedAt, err = createdAt(r.CreatedAt, now)
	return c, err
}

// asRowError turns a validation error into the row's report entry.
func asRowError(line int, err error) *RowError {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &RowError{Line: line, Field: fe.field, Reason: fe.reason}
	}
	var re *RowError
	if errors.As(err, &re) {
		return re
	}
	return &RowError{Line: line, Reason: err.Error()}
}
