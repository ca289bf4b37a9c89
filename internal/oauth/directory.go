package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// The Directory sets passwords of MinPassword to MaxPassword bytes. Demo
// data loaded by code is not held to the minimum (the seeds' guest
// password has 7 characters).
const (
	// MinPassword is the shortest password the Directory sets, in bytes.
	MinPassword = 8
	// MaxPassword is the longest password the Directory sets, in bytes.
	MaxPassword = 1024
)

// Prefixes of the ids the Directory generates for records given without one.
// Account ids are the subjects of ID tokens and client ids their
// audiences, so a client id never starts with accountIDPrefix.
const (
	accountIDPrefix = "acc_"
	clientIDPrefix  = "lkc_"
)

var (
	// ErrRejected marks an error for a record, password or filter that
	// breaks one of the Directory's rules; the message names the rule.
	ErrRejected = errors.New("rejected")
	// ErrClientNeedsMerchant marks a client refused only because it logs in
	// guests without being bound to a merchant, so a caller can say how to
	// bind one (or log in staff instead).
	ErrClientNeedsMerchant = errors.New("client that logs in guests needs a merchant")
)

// dirError is a sentence a person can act on that still matches, through
// errors.Is and errors.As, the errors it stands for.
type dirError struct {
	msg   string
	cause []error
}

func (e *dirError) Error() string   { return e.msg }
func (e *dirError) Unwrap() []error { return e.cause }

// rejectf is a broken rule, worded by format.
func rejectf(format string, args ...any) error {
	return &dirError{msg: fmt.Sprintf(format, args...), cause: []error{ErrRejected}}
}

// rejected marks err, a broken rule, as ErrRejected and any marks.
func rejected(err error, marks ...error) error {
	return &dirError{msg: err.Error(), cause: append([]error{ErrRejected, err}, marks...)}
}

// restate words a store error as a sentence, keeping it for errors.Is.
func restate(err error, format string, args ...any) error {
	return &dirError{msg: fmt.Sprintf(format, args...), cause: []error{err}}
}

// DirectoryConfig configures a Directory. Zero fields take the defaults noted.
type DirectoryConfig struct {
	Store storage.Directory
	Keys  *secrets.Keys
	// Argon2 are the parameters for new password hashes; secrets.DefaultArgon2 when zero.
	Argon2 secrets.Argon2Params
	// Dialects are the dialects a client may be registered for, with the
	// defaults their clients get (the dialect registry's, which the core
	// does not import).
	Dialects map[string]ClientDefaults
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Audit keeps an event of every change, with the actor in the call's
	// context (WithActor); Store's own log when nil and Store keeps one.
	Audit storage.AuditLog
	// Consents are the remembered approvals the Directory lists and
	// withdraws; Store's own when nil and Store keeps them.
	Consents storage.Consents
	// SigningKeys are the keys RotateKeys rotates; Store's own when nil and
	// Store keeps them.
	SigningKeys storage.SigningKeys
	// OnPasswordCheck, when set, is told as each new password is hashed,
	// as Config.OnPasswordCheck is of the checks.
	OnPasswordCheck func(running bool)
}

// Directory administers merchants, organizations, accounts and clients.
// It holds every rule about them, so the CLI and an admin API only
// translate requests and print or encode what it returns. Its errors are
// sentences to show as they are; they wrap the storage errors (ErrNotFound,
// ErrAlreadyExists, ErrInUse) and mark broken rules with ErrRejected. They
// name fields as the CLI's flags do (--merchant), the words operators know.
type Directory struct {
	store    storage.Directory
	keys     *secrets.Keys
	dialects map[string]ClientDefaults
	now      func() time.Time
	// hash is secrets.HashPassword with the configured parameters; a field
	// so tests can see whether the slow hash ran.
	hash func(password string) (string, error)
	// audits records every change (audit.go).
	audits auditor
	// consents, when not nil, are listed and withdrawn (directory_consent.go).
	consents storage.Consents
	// signingKeys, when not nil, are rotated (RotateKeys).
	signingKeys storage.SigningKeys
}

// NewDirectory builds a Directory from cfg.
func NewDirectory(cfg DirectoryConfig) (*Directory, error) {
	if cfg.Store == nil || cfg.Keys == nil {
		return nil, fmt.Errorf("oauth: directory: Store and Keys are required")
	}
	d := &Directory{store: cfg.Store, keys: cfg.Keys, dialects: maps.Clone(cfg.Dialects), now: cfg.Now}
	if d.now == nil {
		d.now = time.Now
	}
	params := cfg.Argon2
	if params == (secrets.Argon2Params{}) {
		params = secrets.DefaultArgon2
	}
	d.hash = func(password string) (string, error) {
		if cfg.OnPasswordCheck != nil {
			cfg.OnPasswordCheck(true)
			defer cfg.OnPasswordCheck(false)
		}
		return secrets.HashPassword(password, params)
	}
	d.audits.log, d.audits.logger = cfg.Audit, slog.Default() // the CLI's and the admin API's log
	if al, ok := cfg.Store.(storage.AuditLog); ok && d.audits.log == nil {
		d.audits.log = al
	}
	d.consents = cfg.Consents
	if cs, ok := cfg.Store.(storage.Consents); ok && d.consents == nil {
		d.consents = cs
	}
	d.signingKeys = cfg.SigningKeys
	if ks, ok := cfg.Store.(storage.SigningKeys); ok && d.signingKeys == nil {
		d.signingKeys = ks
	}
	return d, nil
}

// checkRecordID validates an id a person chooses: printable, no spaces or
// colons (memberships and resource owners are written type:id).
func checkRecordID(what, id string) error {
	if id == "" || len(id) > 255 || strings.ContainsAny(id, ": ") || strings.ContainsFunc(id, unicode.IsControl) {
		return rejectf("%s %q must be 1 to 255 characters without spaces, colons or control characters", what, id)
	}
	return nil
}

// checkDisplayName validates a display name.
func checkDisplayName(what, name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 255 || strings.ContainsFunc(name, unicode.IsControl) {
		return rejectf("%s must be 1 to 255 characters, not blank, without control characters", what)
	}
	return nil
}

// notFound words a failed read, update or delete of the record kind id.
func notFound(err error, kind, id string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return restate(err, "%s %q not found", kind, id)
	}
	return err
}

// mustExist fails with `KIND "id" not found` unless the merchant or
// organization id exists, so a create names the missing record plainly.
func (d *Directory) mustExist(ctx context.Context, kind storage.OwnerType, id string) error {
	var err error
	switch kind {
	case storage.OwnerMerchant:
		_, err = d.store.GetMerchant(ctx, id)
	case storage.OwnerOrganization:
		_, err = d.store.GetOrganization(ctx, id)
	default:
		return rejectf("unknown record kind %q", kind)
	}
	return notFound(err, string(kind), id)
}

// alreadyExists words a create that found the record kind id taken.
func alreadyExists(err error, kind, id string) error {
	if errors.Is(err, storage.ErrAlreadyExists) {
		return restate(err, "%s %q already exists", kind, id)
	}
	return err // otherwise a record it names is gone, and the store's error says which
}

// CheckMerchant applies the rules a new merchant must meet that need no
// database, so a caller can refuse bad input before opening one.
func CheckMerchant(m storage.Merchant) error {
	if err := checkRecordID("--id", m.ID); err != nil {
		return err
	}
	if err := checkDisplayName("--name", m.Name); err != nil {
		return err
	}
	if m.OrganizationID != "" {
		return checkRecordID("--organization", m.OrganizationID)
	}
	return nil
}

// CreateMerchant checks and stores a new merchant, stamped with the
// current time, and returns it.
func (d *Directory) CreateMerchant(ctx context.Context, m storage.Merchant) (storage.Merchant, error) {
	if err := CheckMerchant(m); err != nil {
		return storage.Merchant{}, err
	}
	if m.OrganizationID != "" {
		if err := d.mustExist(ctx, storage.OwnerOrganization, m.OrganizationID); err != nil {
			return storage.Merchant{}, err
		}
	}
	m.CreatedAt = d.now().UTC()
	if err := alreadyExists(d.store.CreateMerchant(ctx, m), "merchant", m.ID); err != nil {
		return storage.Merchant{}, err
	}
	d.audit(ctx, storage.AuditEvent{Type: AuditMerchantCreated, Subject: subject("merchant", m.ID), MerchantID: m.ID,
		OrganizationID: m.OrganizationID, Detail: map[string]string{"name": m.Name}})
	return m, nil
}

// Merchant returns the merchant id.
func (d *Directory) Merchant(ctx context.Context, id string) (storage.Merchant, error) {
	m, err := d.store.GetMerchant(ctx, id)
	return m, notFound(err, "merchant", id)
}

// ListMerchants returns every merchant, by id.
func (d *Directory) ListMerchants(ctx context.Context) ([]storage.Merchant, error) {
	return d.store.ListMerchants(ctx)
}

// DeleteMerchant deletes a merchant that no account, client or membership refers to.
func (d *Directory) DeleteMerchant(ctx context.Context, id string) error {
	old, _ := d.store.GetMerchant(ctx, id) // for its event; a failed read only leaves the organization out
	err := d.store.DeleteMerchant(ctx, id)
	if errors.Is(err, storage.ErrInUse) {
		return restate(err, "merchant %q still has guest accounts, clients or staff members; delete them first", id)
	}
	if err == nil {
		d.audit(ctx, storage.AuditEvent{Type: AuditMerchantDeleted, Subject: subject("merchant", id), MerchantID: id,
			OrganizationID: old.OrganizationID})
	}
	return notFound(err, "merchant", id)
}

// CheckOrganization applies the rules a new organization must meet that
// need no database.
func CheckOrganization(o storage.Organization) error {
	if err := checkRecordID("--id", o.ID); err != nil {
		return err
	}
	return checkDisplayName("--name", o.Name)
}

// CreateOrganization checks and stores a new organization, stamped with
// the current time, and returns it.
func (d *Directory) CreateOrganization(ctx context.Context, o storage.Organization) (storage.Organization, error) {
	if err := CheckOrganization(o); err != nil {
		return storage.Organization{}, err
	}
	o.CreatedAt = d.now().UTC()
	if err := alreadyExists(d.store.CreateOrganization(ctx, o), "organization", o.ID); err != nil {
		return storage.Organization{}, err
	}
	d.audit(ctx, storage.AuditEvent{Type: AuditOrganizationCreated, Subject: subject("organization", o.ID), OrganizationID: o.ID,
		Detail: map[string]string{"name": o.Name}})
	return o, nil
}

// Organization returns the organization id.
func (d *Directory) Organization(ctx context.Context, id string) (storage.Organization, error) {
	o, err := d.store.GetOrganization(ctx, id)
	return o, notFound(err, "organization", id)
}

// ListOrganizations returns every organization, by id.
func (d *Directory) ListOrganizations(ctx context.Context) ([]storage.Organization, error) {
	return d.store.ListOrganizations(ctx)
}

// DeleteOrganization deletes an organization that no merchant, membership or bound client refers to.
func (d *Directory) DeleteOrganization(ctx context.Context, id string) error {
	err := d.store.DeleteOrganization(ctx, id)
	if errors.Is(err, storage.ErrInUse) {
		return restate(err, "organization %q still has merchants, staff members or clients bound to it; delete them first", id)
	}
	if err == nil {
		d.audit(ctx, storage.AuditEvent{Type: AuditOrganizationDeleted, Subject: subject("organization", id), OrganizationID: id})
	}
	return notFound(err, "organization", id)
}

// ParseMembership reads a membership written TYPE:ID, as accounts show
// them. It never fails: what is not TYPE:ID comes back as a membership
// CheckAccount refuses, naming s as it was given.
func ParseMembership(s string) storage.Membership {
	t, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return storage.Membership{Type: storage.OwnerType(s)}
	}
	return storage.Membership{Type: storage.OwnerType(t), ID: id}
}

// memberText writes m as ParseMembership reads it.
func memberText(m storage.Membership) string {
	if m.ID == "" {
		return string(m.Type)
	}
	return string(m.Type) + ":" + m.ID
}

// CheckAccount applies the rules a new account must meet that need no
// database: its kind, which of merchant, card and memberships it may
// have, its username, and the ids it names. An empty ID is one to generate.
func CheckAccount(a storage.Account) error {
	switch a.Kind {
	case storage.Guest:
		if a.MerchantID == "" {
			return rejectf("a guest account needs --merchant")
		}
		if len(a.Memberships) > 0 {
			return rejectf("--member is for staff accounts; a guest belongs to its --merchant")
		}
	case storage.Staff:
		if a.MerchantID != "" {
			return rejectf("--merchant is for guest accounts; give staff --member merchant:ID")
		}
		if a.PrintedCardNumber != "" {
			return rejectf("--card is for guest accounts")
		}
	default:
		return rejectf("--kind %q must be guest or staff", a.Kind)
	}
	if a.Username == "" || len(a.Username) > 256 || strings.TrimSpace(a.Username) != a.Username ||
		strings.ContainsFunc(a.Username, unicode.IsControl) {
		return rejectf("--username %q must be 1 to 256 characters, without control characters or surrounding spaces", a.Username)
	}
	if a.ID != "" {
		if err := checkRecordID("--id", a.ID); err != nil {
			return err
		}
	}
	if a.MerchantID != "" {
		if err := checkRecordID("--merchant", a.MerchantID); err != nil {
			return err
		}
	}
	if len(a.PrintedCardNumber) > 64 || strings.ContainsFunc(a.PrintedCardNumber, unicode.IsSpace) {
		return rejectf("--card %q must be at most 64 characters without spaces", a.PrintedCardNumber)
	}
	seen := map[storage.Membership]bool{}
	for _, m := range a.Memberships {
		if m.ID == "" || (m.Type != storage.OwnerMerchant && m.Type != storage.OwnerOrganization) {
			return rejectf("--member %q must be merchant:ID or organization:ID", memberText(m))
		}
		if err := checkRecordID("--member "+string(m.Type), m.ID); err != nil {
			return err
		}
		if seen[m] {
			return rejectf("--member %q is given twice", memberText(m))
		}
		seen[m] = true
	}
	return nil
}

// CheckPassword holds a password to MinPassword..MaxPassword bytes.
func CheckPassword(password string) error {
	if len(password) < MinPassword || len(password) > MaxPassword {
		return rejectf("the password must be %d to %d bytes long", MinPassword, MaxPassword)
	}
	return nil
}

// CheckAccountFilter checks the kind a list of accounts is narrowed to.
func CheckAccountFilter(f storage.AccountFilter) error {
	if f.Kind != "" && !f.Kind.Valid() {
		return rejectf("--kind %q must be guest or staff", f.Kind)
	}
	return nil
}

// CreateAccount checks a new account and its password, hashes the
// password and stores the account, stamped with the current time and given
// an id when it has none. It returns the account without its password hash.
func (d *Directory) CreateAccount(ctx context.Context, a storage.Account, password string) (storage.Account, error) {
	if err := CheckAccount(a); err != nil {
		return storage.Account{}, err
	}
	if err := CheckPassword(password); err != nil {
		return storage.Account{}, err
	}
	givenID := a.ID != ""
	if !givenID {
		a.ID = secrets.RandomID(accountIDPrefix)
	}
	// Name a missing merchant or organization, and a taken id or username,
	// before the slow password hash.
	if a.Kind == storage.Guest {
		if err := d.mustExist(ctx, storage.OwnerMerchant, a.MerchantID); err != nil {
			return storage.Account{}, err
		}
	}
	for _, m := range a.Memberships {
		if err := d.mustExist(ctx, m.Type, m.ID); err != nil {
			return storage.Account{}, err
		}
	}
	if givenID {
		_, err := d.store.GetAccount(ctx, a.ID)
		if err == nil {
			return storage.Account{}, restate(storage.ErrAlreadyExists, "account %q already exists", a.ID)
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return storage.Account{}, fmt.Errorf("look up account %q: %w", a.ID, err)
		}
		if err := d.notAClient(ctx, a.ID); err != nil {
			return storage.Account{}, err
		}
	}
	if err := d.usernameFree(ctx, a); err != nil {
		return storage.Account{}, err
	}
	hash, err := d.hash(password)
	if err != nil {
		return storage.Account{}, fmt.Errorf("hash password: %w", err)
	}
	a.PasswordHash, a.CreatedAt = hash, d.now().UTC()
	err = d.store.CreateAccount(ctx, a)
	if errors.Is(err, storage.ErrAlreadyExists) {
		// The id or the username was taken by a create racing this one.
		if givenID {
			if _, gerr := d.store.GetAccount(ctx, a.ID); gerr == nil {
				return storage.Account{}, restate(err, "account %q already exists", a.ID)
			}
		}
		return storage.Account{}, usernameTaken(err, a)
	}
	if err != nil {
		return storage.Account{}, err
	}
	a.PasswordHash = ""
	d.audit(ctx, accountEvent(AuditAccountCreated, a, map[string]string{"kind": string(a.Kind)}))
	return a, nil
}

// notAClient fails when id, a new account's, is a client's: an account id
// is the subject of the account's ID tokens, and must never be mistaken for
// a client id. (Generated account ids start with accountIDPrefix, which no
// client id may; this catches an id given without it.)
func (d *Directory) notAClient(ctx context.Context, id string) error {
	_, err := d.store.GetClient(ctx, id)
	switch {
	case err == nil:
		return rejectf("--id %q is a client's id; account ids and client ids must differ "+
			"(account ids are the subjects of ID tokens): give another, or none to get one starting with %q", id, accountIDPrefix)
	case errors.Is(err, storage.ErrNotFound):
		return nil
	}
	return fmt.Errorf("look up client %q: %w", id, err)
}

// notAnAccount fails when id, a new client's, is an account's (one created
// with a given id not starting with accountIDPrefix).
func (d *Directory) notAnAccount(ctx context.Context, id string) error {
	_, err := d.store.GetAccount(ctx, id)
	switch {
	case err == nil:
		return rejectf("--id %q is an account's id; client ids and account ids must differ "+
			"(account ids are the subjects of ID tokens)", id)
	case errors.Is(err, storage.ErrNotFound):
		return nil
	}
	return fmt.Errorf("look up account %q: %w", id, err)
}

// usernameFree fails when a's username is taken: by a guest of the same
// merchant, or by another staff account (usernames compare case-insensitively).
func (d *Directory) usernameFree(ctx context.Context, a storage.Account) error {
	_, err := d.store.GetAccountByUsername(ctx, a.Kind, a.MerchantID, a.Username)
	switch {
	case err == nil:
		return usernameTaken(storage.ErrAlreadyExists, a)
	case errors.Is(err, storage.ErrNotFound):
		return nil
	}
	return fmt.Errorf("look up username %q: %w", a.Username, err)
}

// usernameTaken words err, a clash on a's username, for a's kind.
func usernameTaken(err error, a storage.Account) error {
	if a.Kind == storage.Guest {
		return restate(err, "account %q already exists for merchant %q", a.Username, a.MerchantID)
	}
	return restate(err, "staff account %q already exists", a.Username)
}

// Account returns the account id without its password hash.
func (d *Directory) Account(ctx context.Context, id string) (storage.Account, error) {
	a, err := d.store.GetAccount(ctx, id)
	if err != nil {
		return storage.Account{}, notFound(err, "account", id)
	}
	a.PasswordHash = ""
	return a, nil
}

// ListAccounts returns the accounts f selects, by username, without their
// password hashes.
func (d *Directory) ListAccounts(ctx context.Context, f storage.AccountFilter) ([]storage.Account, error) {
	if err := CheckAccountFilter(f); err != nil {
		return nil, err
	}
	as, err := d.store.ListAccounts(ctx, f)
	for i := range as {
		as[i].PasswordHash = ""
	}
	return as, err
}

// SetPassword checks password and makes it account id's password. What
// the old one let in goes with it, in the same transaction: the account's
// tokens and codes are revoked and its browser sessions ended (see
// storage.Account.TokensRevokedAt), since whoever learnt the old password
// may hold them.
func (d *Directory) SetPassword(ctx context.Context, id, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	a, err := d.store.GetAccount(ctx, id)
	if err != nil {
		return notFound(err, "account", id) // before the slow hash
	}
	hash, err := d.hash(password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := d.store.SetAccountPassword(ctx, id, hash, d.now()); err != nil {
		return notFound(err, "account", id)
	}
	d.audit(ctx, accountEvent(AuditAccountPasswordSet, a, nil))
	return nil
}

// SetDisabled disables account id, revoking its tokens and codes and
// ending its sessions in the same transaction, or enables it again (which
// gives nothing back: the person signs in anew).
func (d *Directory) SetDisabled(ctx context.Context, id string, disabled bool) error {
	if err := d.store.SetAccountDisabled(ctx, id, disabled, d.now()); err != nil {
		return notFound(err, "account", id)
	}
	typ := AuditAccountEnabled
	if disabled {
		typ = AuditAccountDisabled
	}
	d.audit(ctx, accountEvent(typ, d.accountForEvent(ctx, id), nil))
	return nil
}

// accountForEvent reads account id for an event about it; when the read
// fails the event names the id alone.
func (d *Directory) accountForEvent(ctx context.Context, id string) storage.Account {
	a, err := d.store.GetAccount(ctx, id)
	if err != nil {
		return storage.Account{ID: id}
	}
	return a
}

// accountEvent is an event of type typ about account a.
func accountEvent(typ string, a storage.Account, detail map[string]string) storage.AuditEvent {
	return storage.AuditEvent{Type: typ, Subject: subject("account", a.ID), MerchantID: a.MerchantID, Detail: detail}
}

// DeleteAccount deletes an account with its sessions, consents, codes and
// tokens, in one transaction (the database cascades the delete).
func (d *Directory) DeleteAccount(ctx context.Context, id string) error {
	a := d.accountForEvent(ctx, id)
	if err := d.store.DeleteAccount(ctx, id); err != nil {
		return notFound(inUse(err, "account", id), "account", id)
	}
	d.audit(ctx, accountEvent(AuditAccountDeleted, a, nil))
	return nil
}

// inUse words a delete the store refused because other records refer to kind id.
func inUse(err error, kind, id string) error {
	if errors.Is(err, storage.ErrInUse) {
		return restate(err, "%s %q is still referred to by other records; delete them first", kind, id)
	}
	return err
}

// ClientDefaults are the settings a dialect's clients get unless they are
// registered otherwise; a client of no dialect rotates refresh tokens and
// gets none with client_credentials.
type ClientDefaults struct {
	// KeepRefreshTokens: a refresh issues a new access token and the client
	// keeps its refresh token, instead of rotating it.
	KeepRefreshTokens bool
	// ClientCredentialsRefresh: client_credentials returns a refresh token
	// too, for clients that have the refresh_token grant.
	ClientCredentialsRefresh bool
}

// ClientChoices are what a new client's registration decides beyond its
// fields: whether it has a secret, and the settings that otherwise come
// from its dialect's ClientDefaults (nil: the default).
type ClientChoices struct {
	Public                   bool
	RotateRefresh            *bool
	ClientCredentialsRefresh *bool
}

// GrantAliases are the short names a registration may give for the grant
// types whose name is a URN: device_code for RFC 8628's device grant.
var GrantAliases = map[string]string{"device_code": GrantDeviceCode}

// prepareClient is c as it is checked and stored: its grant types by their
// full names (GrantAliases); without repeated values; its refresh settings as chosen or from its dialect's defaults;
// for a public client without a secret and with PKCE.
func prepareClient(c storage.Client, o ClientChoices, dialects map[string]ClientDefaults) storage.Client {
	grants := make([]string, len(c.GrantTypes))
	for i, g := range c.GrantTypes {
		grants[i] = g
		if full, ok := GrantAliases[g]; ok {
			grants[i] = full
		}
	}
	c.GrantTypes, c.Scopes, c.DefaultScopes = unique(grants), unique(c.Scopes), unique(c.DefaultScopes)
	c.RedirectURIs, c.PostLogoutRedirectURIs = unique(c.RedirectURIs), unique(c.PostLogoutRedirectURIs)
	def := dialects[c.Dialect]
	c.RotateRefresh = !def.KeepRefreshTokens
	if o.RotateRefresh != nil {
		c.RotateRefresh = *o.RotateRefresh
	}
	c.ClientCredentialsRefresh = def.ClientCredentialsRefresh && c.AllowsGrant(GrantClientCredentials) && c.AllowsGrant(GrantRefreshToken)
	if o.ClientCredentialsRefresh != nil {
		c.ClientCredentialsRefresh = *o.ClientCredentialsRefresh
	}
	c.SecretHash = ""
	public := o.Public
	if public {
		c.RequirePKCE = true
	} else {
		c.SecretHash = "set once the secret is made" // so validation sees a confidential client
	}
	return c
}

// unique drops repeated values, keeping the first of each.
func unique(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// CheckClient applies the rules a new client must meet that need no
// database: its name, its id (never one starting with the account ids'
// prefix), its OpenID Connect settings, and ValidateClient's rules for a
// public or confidential client. An empty ID is one to generate. A client
// refused only for logging in guests without a merchant is also
// ErrClientNeedsMerchant.
func CheckClient(c storage.Client, o ClientChoices, dialects map[string]ClientDefaults) error {
	if err := checkDisplayName("--name", c.Name); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = secrets.RandomID(clientIDPrefix) // as CreateClient will
	}
	if strings.HasPrefix(c.ID, accountIDPrefix) {
		return rejectf("--id %q must not start with %q, the prefix of account ids (an account id is the subject of "+
			"its ID tokens and must never be taken for a client id)", c.ID, accountIDPrefix)
	}
	if err := checkOIDCSettings(c); err != nil {
		return err
	}
	c = prepareClient(c, o, dialects)
	if c.Introspect && c.Public() {
		// It could not authenticate to the introspection endpoint.
		return rejectf("--introspect is for confidential clients; a public client has no secret to introspect with")
	}
	names := slices.Sorted(maps.Keys(dialects))
	err := ValidateClient(c, names)
	if err == nil {
		return nil
	}
	if c.AccountKind == storage.Guest && c.MerchantID == "" {
		bound := c
		bound.MerchantID = "any"
		if ValidateClient(bound, names) == nil {
			return rejected(err, ErrClientNeedsMerchant)
		}
	}
	return rejected(err)
}

// checkOIDCSettings checks a client's OpenID Connect settings: the
// algorithm of its ID tokens, and its post-logout redirect URIs, each held
// to the rules of redirect URIs (absolute, no fragment, https unless
// loopback or a native app's scheme) and matched exactly.
func checkOIDCSettings(c storage.Client) error {
	if c.IDTokenAlg != "" && !slices.Contains(IDTokenAlgs, c.IDTokenAlg) {
		return rejectf("--id-token-alg %q must be %s (none: %s)", c.IDTokenAlg, strings.Join(IDTokenAlgs, " or "), IDTokenAlgs[0])
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := validRedirectURI(u); err != nil {
			return rejectf("--post-logout-redirect-uri: %v", err)
		}
	}
	return nil
}

// CreateClient checks and stores a new client, stamped with the current
// time and given an id when it has none (c.SecretHash is ignored). A
// confidential client gets a new secret, returned here once and stored
// only as a keyed hash; a public client has none and always requires PKCE.
func (d *Directory) CreateClient(ctx context.Context, c storage.Client, o ClientChoices) (storage.Client, string, error) {
	if c.ID == "" {
		c.ID = secrets.RandomID(clientIDPrefix)
	}
	if err := CheckClient(c, o, d.dialects); err != nil {
		return storage.Client{}, "", err
	}
	c = prepareClient(c, o, d.dialects)
	if c.MerchantID != "" {
		if err := d.mustExist(ctx, storage.OwnerMerchant, c.MerchantID); err != nil {
			return storage.Client{}, "", err
		}
	}
	if c.OrganizationID != "" {
		if err := d.mustExist(ctx, storage.OwnerOrganization, c.OrganizationID); err != nil {
			return storage.Client{}, "", err
		}
	}
	if err := d.notAnAccount(ctx, c.ID); err != nil {
		return storage.Client{}, "", err
	}
	secret := ""
	if !o.Public {
		secret = secrets.NewClientSecret()
		c.SecretHash = d.keys.HashClientSecret(secret)
	}
	c.CreatedAt = d.now().UTC()
	if err := alreadyExists(d.store.CreateClient(ctx, c), "client", c.ID); err != nil {
		return storage.Client{}, "", err
	}
	d.audit(ctx, clientEvent(AuditClientCreated, c, map[string]string{"name": c.Name, "public": strconv.FormatBool(c.Public())}))
	return c, secret, nil
}

// Client returns the client id.
func (d *Directory) Client(ctx context.Context, id string) (storage.Client, error) {
	c, err := d.store.GetClient(ctx, id)
	return c, notFound(err, "client", id)
}

// ListClients returns every client, by id.
func (d *Directory) ListClients(ctx context.Context) ([]storage.Client, error) {
	return d.store.ListClients(ctx)
}

// DeleteClient deletes a client with its codes, tokens and consents, in
// one transaction (the database cascades the delete). Running servers may
// still accept its secret for up to ClientCacheTTL, but every token they
// would issue needs the client's row, so none is stored.
func (d *Directory) DeleteClient(ctx context.Context, id string) error {
	c, err := d.store.GetClient(ctx, id) // for its event; a failed read leaves the id alone
	if err != nil {
		c = storage.Client{ID: id}
	}
	if err := d.store.DeleteClient(ctx, id); err != nil {
		return notFound(inUse(err, "client", id), "client", id)
	}
	d.audit(ctx, clientEvent(AuditClientDeleted, c, nil))
	return nil
}

// clientEvent is an event of type typ about client c.
func clientEvent(typ string, c storage.Client, detail map[string]string) storage.AuditEvent {
	return storage.AuditEvent{Type: typ, Subject: subject("client", c.ID), ClientID: c.ID, MerchantID: c.MerchantID,
		OrganizationID: c.OrganizationID, Detail: detail}
}

// RotateClientSecret gives confidential client id a new secret, returned
// here once; the old one stops working. A public client has none to rotate.
func (d *Directory) RotateClientSecret(ctx context.Context, id string) (storage.Client, string, error) {
	secret := secrets.NewClientSecret()
	isPublic := rejectf("client %q is public: it has no secret to rotate", id)
	var updated storage.Client
	err := d.store.UpdateClient(ctx, id, func(c storage.Client) (storage.Client, error) {
		if c.Public() {
			return c, isPublic
		}
		c.SecretHash = d.keys.HashClientSecret(secret)
		updated = c
		return c, nil
	})
	if errors.Is(err, isPublic) {
		return storage.Client{}, "", isPublic
	}
	if err != nil {
		return storage.Client{}, "", notFound(err, "client", id)
	}
	d.audit(ctx, clientEvent(AuditClientSecretRotated, updated, nil))
	return updated, secret, nil
}
