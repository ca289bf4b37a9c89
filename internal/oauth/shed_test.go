package oauth

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// TestLoginShedsBeforeAnyRead: Login itself (the pages' and the dialects'
// way in, not only the token endpoint's) refuses with 503 when the pool is
// full, before reading anything: this server has no store, so a read would
// panic.
func TestLoginShedsBeforeAnyRead(t *testing.T) {
	s := &Server{pool: newPool(1, 0, time.Second), held: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
	s.pool.tickets <- struct{}{} // the only place is taken
	_, oerr := s.Login(context.Background(), storage.Client{ID: "app", MerchantID: "m-1"}, "guest", "secret", "203.0.113.7")
	if oerr == nil || oerr.Status != 503 || oerr.Code != ErrTemporarilyUnavail {
		t.Fatalf("login with the pool full: %v; want 503 temporarily_unavailable", oerr)
	}
	if s.ShedLogins() != 1 || s.PasswordChecks() != 0 {
		t.Errorf("%d shed, %d checked; want 1 and 0", s.ShedLogins(), s.PasswordChecks())
	}
}

// TestShedHoldIsBounded: with shedHeld refusals already held, the next one
// is answered without being held (it would otherwise wait for a place among
// them: the call below would not return while they stay).
func TestShedHoldIsBounded(t *testing.T) {
	s := &Server{pool: newPool(1, 0, time.Second), held: make(chan struct{}, 2), log: slog.New(slog.DiscardHandler)}
	s.pool.tickets <- struct{}{} // the pool is full
	s.held <- struct{}{}         // and so are the places to hold refusals in
	s.held <- struct{}{}
	done := make(chan *Error, 1)
	go func() {
		_, oerr := s.Login(context.Background(), storage.Client{ID: "app", MerchantID: "m-1"}, "guest", "secret", "203.0.113.7")
		done <- oerr
	}()
	select {
	case oerr := <-done:
		if oerr == nil || oerr.Status != 503 {
			t.Fatalf("login past the held bound: %v; want 503", oerr)
		}
	case <-time.After(10 * time.Second): // a hang detector, far past any hold (shedHoldMax)
		t.Fatal("a refusal past the held bound waited for a place among the held ones")
	}
	if len(s.held) != cap(s.held) {
		t.Errorf("%d of %d places held after the refusal; want them untouched", len(s.held), cap(s.held))
	}
	if s.ShedLogins() != 1 {
		t.Errorf("%d logins counted as shed; want 1", s.ShedLogins())
	}
}
