package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// errBadLogin is the one answer for an unknown user and a wrong password.
func errBadLogin() *Error { return InvalidGrant("the username or password is incorrect") }

func (s *Server) password(ctx context.Context, c storage.Client, req TokenRequest) (TokenResult, *Error) {
	if req.Username == "" {
		return TokenResult{}, InvalidRequest("username is missing").For("username")
	}
	if req.Password == "" {
		return TokenResult{}, InvalidRequest("password is missing").For("password")
	}
	scopes, oerr := ResolveScopes(c, req.Scope)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	account, oerr := s.Login(ctx, c, req.Username, req.Password, req.RemoteAddr)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	owner, oerr := passwordOwner(c, account)
	if oerr != nil {
		return TokenResult{}, oerr
	}
	g := grant{typ: GrantPassword, client: c, account: &account, owner: owner, scopes: scopes, signIn: signIn{authTime: s.now()}}
	return s.issue(ctx, g, c.AllowsGrant(GrantRefreshToken), "")
}

// passwordOwner decides whom a password-grant token acts for.
func passwordOwner(c storage.Client, a storage.Account) (storage.ResourceOwner, *Error) {
	if a.Kind == storage.Guest {
		return storage.ResourceOwner{Type: storage.OwnerGuest, ID: a.ID}, nil
	}
	if o, ok := BoundOwner(c); ok {
		return o, nil
	}
	if len(a.Memberships) == 1 {
		return storage.ResourceOwner{Type: a.Memberships[0].Type, ID: a.Memberships[0].ID}, nil
	}
	return storage.ResourceOwner{}, InvalidGrant("this account acts for several merchants; use the authorization code flow to choose one")
}

// Login checks a username and password for the kind of account client c
// logs in, from source (the caller's address, RemoteIP). Unknown users and
// wrong passwords get the same error after the same work. Failures are
// counted per account and source and per source (throttle.go): past their
// budgets the answer is 429 with Retry-After, for this source only.
func (s *Server) Login(ctx context.Context, c storage.Client, username, password, source string) (_ storage.Account, refusal *Error) {
	defer func() { s.auditThrottled(ctx, refusal, "login", c, source) }()
	kind := c.AccountKind
	if kind == "" {
		kind = storage.Guest
	}
	if kind == storage.Guest && c.MerchantID == "" {
		return storage.Account{}, UnauthorizedClient("this client is bound to no merchant, so it cannot log in guests")
	}
	if len(username) > 256 || len(password) > 1024 {
		return storage.Account{}, errBadLogin()
	}
	if s.pool.full() {
		return storage.Account{}, s.shedLogin(ctx)
	}
	keys := s.loginKeys(kind, c.MerchantID, username, source)
	if _, oerr := s.loginWait(ctx, keys); oerr != nil {
		return storage.Account{}, oerr
	}

	account, err := s.store.GetAccountByUsername(ctx, kind, c.MerchantID, username)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.Account{}, s.unavailable(ctx, "load account", err)
	}
	hash := s.dummyHash
	if found {
		hash = account.PasswordHash
	}
	var rehash bool
	var refused *Error // a 429 before the hash, or the counted failure after it
	err = s.pool.do(ctx, func(queued bool) {
		// A burst of guesses queues for the workers while the first ones
		// spend the budget: a queued guess reads the keys again before its
		// hash, and a failure is counted before its worker is free, so a
		// burst costs at most the budget plus one hash per worker.
		if queued {
			if _, refused = s.loginWait(ctx, keys); refused != nil {
				return
			}
		}
		s.hashes.Add(1)
		ok, again, verr := secrets.VerifyPassword(hash, password, s.argon2)
		if verr != nil {
			s.log.ErrorContext(ctx, "stored password hash is malformed", "account_id", account.ID, "err", verr)
			ok = false
		}
		if found && c.AccountKind == storage.Staff && !memberOfBinding(account, c) {
			ok = false // staff of another merchant or organization cannot log in to its app
		}
		if !found || !ok || account.Disabled {
			s.log.InfoContext(ctx, "login failed", "client_id", c.ID, "kind", kind)
			refused = s.loginFailed(ctx, keys)
			s.auditLogin(ctx, AuditLoginFailed, c, account, found, ok, source)
		}
		rehash = again
	})
	if err != nil {
		if errors.Is(err, errBusy) {
			// Full since the check above, or the wait for a worker ran out
			// (which held it long enough already).
			s.noteFailure(ctx, "password check pool full; refusing login", err)
			s.shed.Add(1)
			return storage.Account{}, busy(spreadRetry())
		}
		return storage.Account{}, s.unavailable(ctx, "wait for password check", err)
	}
	if refused != nil {
		return storage.Account{}, refused
	}
	// Concurrent failures may have spent the budget while the hash ran:
	// then this right password is refused like them.
	fs, oerr := s.loginWait(ctx, keys)
	if oerr != nil {
		return storage.Account{}, oerr
	}
	if fs[0].Count > 0 {
		if err := s.store.ForgetFailures(ctx, keys[0].Key); err != nil {
			s.log.WarnContext(ctx, "forget login failures", "err", err)
		}
	}
	if rehash {
		s.upgradeHash(ctx, c, account, password, source)
	}
	s.auditLogin(ctx, AuditLoginSucceeded, c, account, true, true, source)
	return account, nil
}

// auditLogin records a login of client c from source. The subject is the
// account when one was found; an unknown user leaves it empty, since what
// was typed as a username may be a password.
func (s *Server) auditLogin(ctx context.Context, typ string, c storage.Client, a storage.Account, found, ok bool, source string) {
	ev := storage.AuditEvent{Type: typ, ClientID: c.ID, MerchantID: c.MerchantID, OrganizationID: c.OrganizationID, Source: source}
	if found {
		ev.Subject = subject("account", a.ID)
	}
	if typ == AuditLoginFailed {
		reason := "wrong_password" // or a staff account of another merchant
		switch {
		case !found:
			reason = "unknown_account"
		case ok && a.Disabled:
			reason = "disabled"
		}
		ev.Detail = map[string]string{"reason": reason}
	}
	s.audit(ctx, ev)
}

// memberOfBinding reports whether staff account a may log in to client c:
// a member of the merchant or organization c is bound to, or anyone's
// staff when c is bound to neither.
func memberOfBinding(a storage.Account, c storage.Client) bool {
	o, ok := BoundOwner(c)
	return !ok || slices.Contains(a.Memberships, storage.Membership(o))
}

// errHashChanged aborts an upgrade whose account got another hash meanwhile.
var errHashChanged = errors.New("password hash changed since it was verified")

// upgradeHash re-hashes, after a login of a (found by client c from source),
// a password whose stored hash has outdated parameters or a legacy scheme.
// The hash is replaced only if it is still the one just verified, in the
// same transaction: a password set meanwhile (by an administrator, say) wins.
func (s *Server) upgradeHash(ctx context.Context, c storage.Client, a storage.Account, password, source string) {
	verified := a.PasswordHash
	h, err := secrets.HashPassword(password, s.argon2)
	if err == nil {
		err = s.store.UpdateAccount(ctx, a.ID, func(cur storage.Account) (storage.Account, error) {
			if subtle.ConstantTimeCompare([]byte(cur.PasswordHash), []byte(verified)) != 1 {
				return cur, errHashChanged
			}
			cur.PasswordHash = h
			return cur, nil
		})
	}
	if errors.Is(err, errHashChanged) {
		s.log.InfoContext(ctx, "password hash not upgraded: it changed since the login checked it", "account_id", a.ID)
		return
	}
	if err != nil {
		s.log.WarnContext(ctx, "upgrade password hash", "account_id", a.ID, "err", err)
		return
	}
	if scheme, _ := secrets.PasswordScheme(verified); scheme != secrets.SchemeArgon2id {
		// Only the scheme's name: never the hash.
		s.audit(ctx, storage.AuditEvent{Type: AuditAccountPasswordUpgraded, Subject: subject("account", a.ID),
			ClientID: c.ID, MerchantID: c.MerchantID, OrganizationID: c.OrganizationID, Source: source,
			Detail: map[string]string{"scheme": scheme}})
	}
}
