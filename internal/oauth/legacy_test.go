package oauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// legacyVector is a hash made by an independent implementation, with its
// right password (internal/secrets/testdata/gen_vectors.mjs).
type legacyVector struct {
	Scheme, Hash, Password string
}

func legacyVectors(t *testing.T) []legacyVector {
	t.Helper()
	b, err := os.ReadFile("../secrets/testdata/legacy_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []legacyVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < len(secrets.Schemes) {
		t.Fatalf("%d vectors, fewer than the schemes", len(vs))
	}
	return vs
}

// addLegacyAccount stores a guest of the fixture's merchant whose password
// hash is an imported one, as the importer stores it.
func (e *env) addLegacyAccount(id, hash string) {
	e.t.Helper()
	err := e.store.CreateAccount(context.Background(), storage.Account{ID: id, Kind: storage.Guest, MerchantID: merchantID,
		Username: id, PasswordHash: hash})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) passwordLogin(user, pass string) (int, map[string]any) {
	e.t.Helper()
	status, _, m := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}},
		guestApp, guestSec)
	return status, m
}

func (e *env) storedHash(id string) string {
	e.t.Helper()
	a, err := e.store.GetAccount(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.PasswordHash
}

// TestLegacyHashUpgradedOnLogin: for every scheme's vectors, a wrong
// password is refused and leaves the imported hash; the right one logs in,
// replaces the hash with latchkey's Argon2id and records the upgrade with
// the old scheme (never the hash); the next login uses the new hash.
func TestLegacyHashUpgradedOnLogin(t *testing.T) {
	vs := legacyVectors(t)
	eachBackend(t, func(t *testing.T, e *env) {
		for i, v := range vs {
			id := fmt.Sprintf("legacy-%d", i)
			e.addLegacyAccount(id, v.Hash)
			_, first := utf8.DecodeRuneInString(v.Password)
			wrong := "X" + v.Password[first:] // wrong in its first byte: bcrypt reads only 72
			if status, m := e.passwordLogin(id, wrong); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
				t.Fatalf("%s (%s): wrong password: %d %v", id, v.Scheme, status, m)
			}
			if h := e.storedHash(id); h != v.Hash {
				t.Fatalf("%s (%s): a wrong password changed the stored hash", id, v.Scheme)
			}
			if status, m := e.passwordLogin(id, v.Password); status != http.StatusOK || m["access_token"] == nil {
				t.Fatalf("%s (%s): right password: %d %v", id, v.Scheme, status, m)
			}
			h := e.storedHash(id)
			if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || h == v.Hash {
				t.Fatalf("%s (%s): stored hash after login is %.30q…, want latchkey's argon2id", id, v.Scheme, h)
			}
			if ok, rehash, err := secrets.VerifyPassword(h, v.Password, fastArgon2); !ok || rehash || err != nil {
				t.Fatalf("%s (%s): the new hash: ok=%v rehash=%v err=%v", id, v.Scheme, ok, rehash, err)
			}
			if status, m := e.passwordLogin(id, v.Password); status != http.StatusOK {
				t.Fatalf("%s (%s): second login: %d %v", id, v.Scheme, status, m)
			}
			if h2 := e.storedHash(id); h2 != h {
				t.Fatalf("%s (%s): the second login re-hashed again", id, v.Scheme)
			}
		}

		evs, all := e.auditEvents()
		legacy := 0
		for i, v := range vs {
			sub := "account:" + fmt.Sprintf("legacy-%d", i)
			up := find(evs, oauth.AuditAccountPasswordUpgraded, func(ev storage.AuditEvent) bool { return ev.Subject == sub })
			// The hash, its salt and its key are in no event.
			fields := strings.Split(v.Hash, "$")
			for _, f := range append(fields[len(fields)-2:], v.Hash) {
				if len(f) >= 8 && strings.Contains(all, f) {
					t.Errorf("%s: an audit event holds part of the imported hash: %q", sub, f)
				}
			}
			if v.Scheme == secrets.SchemeArgon2id {
				// latchkey's own scheme with other parameters: re-hashed
				// (checked above) as any outdated hash, but no legacy upgrade.
				if len(up) != 0 {
					t.Errorf("%s: upgrade events %+v for an argon2id hash", sub, up)
				}
				continue
			}
			legacy++
			if len(up) != 1 || up[0].Detail["scheme"] != v.Scheme || len(up[0].Detail) != 1 || up[0].ClientID != guestApp {
				t.Errorf("%s: upgrade events %+v, want one with scheme=%s", sub, up, v.Scheme)
			}
		}
		// Native hashes with the configured parameters are not "upgraded".
		e.login(guestApp, guestSec)
		evs, _ = e.auditEvents()
		if n := len(find(evs, oauth.AuditAccountPasswordUpgraded, nil)); n != legacy || legacy < len(vs)-2 {
			t.Errorf("%d upgrade events, want one per legacy vector (%d)", n, legacy)
		}
	})
}

// TestLegacyWrongPasswordThrottled: wrong passwords against an imported
// hash count as failures like any other, so a guessing source is refused
// with 429 after the budget, even with the right password.
func TestLegacyWrongPasswordThrottled(t *testing.T) {
	v := legacyVectorOf(t, "bcrypt")
	eachBackend(t, func(t *testing.T, e *env) {
		e.addLegacyAccount("legacy-bcrypt", v.Hash)
		before := e.core.PasswordChecks()
		failed := 0
		for range 10 { // oauth.Throttle's PerAccountSource default
			status, m := e.passwordLogin("legacy-bcrypt", "wrong")
			if status == http.StatusTooManyRequests {
				break
			}
			if status != http.StatusBadRequest || m["error"] != "invalid_grant" {
				t.Fatalf("wrong password: %d %v", status, m)
			}
			failed++
		}
		if checks := e.core.PasswordChecks() - before; checks != uint64(failed) {
			t.Fatalf("%d failures cost %d password checks: the legacy check must run in the pool, counted", failed, checks)
		}
		if status, m := e.passwordLogin("legacy-bcrypt", v.Password); status != http.StatusTooManyRequests {
			t.Fatalf("the right password after %d failures: %d %v, want 429", failed, status, m)
		}
		if h := e.storedHash("legacy-bcrypt"); h != v.Hash {
			t.Fatal("a throttled login changed the stored hash")
		}
		evs, _ := e.auditEvents()
		fails := find(evs, oauth.AuditLoginFailed, func(ev storage.AuditEvent) bool {
			return ev.Subject == "account:legacy-bcrypt" && ev.Detail["reason"] == "wrong_password"
		})
		if len(fails) != failed || failed == 0 {
			t.Fatalf("%d login.failed events with wrong_password, want %d", len(fails), failed)
		}
	})
}

func legacyVectorOf(t *testing.T, scheme string) legacyVector {
	t.Helper()
	for _, v := range legacyVectors(t) {
		if v.Scheme == scheme {
			return v
		}
	}
	t.Fatalf("no %s vector", scheme)
	return legacyVector{}
}

// setDuringUpgrade is a store where an administrator sets a new password
// for an account just before the login's upgrade writes, as a concurrent
// change would land between the check and the upgrade.
type setDuringUpgrade struct {
	storage.Storage
	once sync.Once
	hash string
}

func (s *setDuringUpgrade) UpdateAccount(ctx context.Context, id string, fn func(storage.Account) (storage.Account, error)) error {
	var err error
	s.once.Do(func() { err = s.Storage.SetAccountPassword(ctx, id, s.hash, time.Now()) })
	if err != nil {
		return err
	}
	return s.Storage.UpdateAccount(ctx, id, fn)
}

// TestLegacyUpgradeLosesToConcurrentPasswordSet: a password set while a
// login checked the imported hash wins: the upgrade does not overwrite it.
func TestLegacyUpgradeLosesToConcurrentPasswordSet(t *testing.T) {
	v := legacyVectorOf(t, "pbkdf2-sha256")
	eachStore(t, func(t *testing.T, st storage.Storage) {
		adminHash, err := secrets.HashPassword("set-by-admin", fastArgon2)
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, &setDuringUpgrade{Storage: st, hash: adminHash}, oauth.Config{})
		e.addLegacyAccount("legacy-race", v.Hash)
		if status, m := e.passwordLogin("legacy-race", v.Password); status != http.StatusOK {
			t.Fatalf("login: %d %v", status, m)
		}
		if h := e.storedHash("legacy-race"); h != adminHash {
			t.Fatalf("stored hash %.30q…, want the administrator's", h)
		}
		evs, _ := e.auditEvents()
		if up := find(evs, oauth.AuditAccountPasswordUpgraded, nil); len(up) != 0 {
			t.Fatalf("upgrade events %+v for an upgrade that did not happen", up)
		}
		if status, _ := e.passwordLogin("legacy-race", v.Password); status != http.StatusBadRequest {
			t.Fatalf("the imported password after the administrator's: %d, want refused", status)
		}
		if status, m := e.passwordLogin("legacy-race", "set-by-admin"); status != http.StatusOK {
			t.Fatalf("the administrator's password: %d %v", status, m)
		}
	})
}
