package conformance

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// auditEvent is an event of the given type at now+offset, with every field set.
func auditEvent(id, typ string, offset time.Duration) storage.AuditEvent {
	return storage.AuditEvent{ID: id, Time: now.Add(offset), Type: typ, Actor: "cli", Subject: "client:app", ClientID: "app",
		MerchantID: "777777", OrganizationID: "org", Source: "192.0.2.1", RequestID: "req-" + id,
		Detail: map[string]string{"name": "App", "n": id}}
}

func ids(evs []storage.AuditEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testAuditRoundTripAndFilters(t *testing.T, s storage.Storage) {
	c := ctx(t)
	list := func(f storage.AuditFilter) []string {
		t.Helper()
		evs, err := s.ListAuditEvents(c, f)
		must(t, err, fmt.Sprintf("list audit events %+v", f))
		return ids(evs)
	}
	empty, err := s.ListAuditEvents(c, storage.AuditFilter{})
	must(t, err, "list no events")
	equal(t, len(empty), 0, "events of an empty log")

	a := auditEvent("ev_a", "client.created", 0)
	b := auditEvent("ev_b", "login.failed", time.Minute)
	b.Actor, b.Subject, b.MerchantID, b.ClientID, b.Detail = "", "account:acc_1", "888888", "other", nil
	cc := auditEvent("ev_c", "client.created", 2*time.Minute)
	cc.Actor, cc.Subject, cc.OrganizationID = "client:admin", "client:c2", "o-1"
	must(t, s.AppendAuditEvents(c, b, a), "append two in one call")
	must(t, s.AppendAuditEvents(c, cc), "append one")
	must(t, s.AppendAuditEvents(c), "append nothing")
	wantErr(t, s.AppendAuditEvents(c, a), storage.ErrAlreadyExists, "append a duplicate id")

	got, err := s.ListAuditEvents(c, storage.AuditFilter{})
	must(t, err, "list all")
	equal(t, got, []storage.AuditEvent{a, b, cc}, "every event, round trip, by id")

	equal(t, list(storage.AuditFilter{Type: "client.created"}), []string{"ev_a", "ev_c"}, "by type")
	equal(t, list(storage.AuditFilter{Actor: "cli"}), []string{"ev_a"}, "by actor")
	equal(t, list(storage.AuditFilter{Subject: "account:acc_1"}), []string{"ev_b"}, "by subject")
	equal(t, list(storage.AuditFilter{MerchantID: "777777"}), []string{"ev_a", "ev_c"}, "by merchant")
	equal(t, list(storage.AuditFilter{ClientID: "other"}), []string{"ev_b"}, "by client")
	equal(t, list(storage.AuditFilter{OrganizationID: "o-1"}), []string{"ev_c"}, "by organization")
	equal(t, list(storage.AuditFilter{OrganizationID: "o-1", Type: "login.failed"}), []string{}, "by organization and type")
	equal(t, list(storage.AuditFilter{Since: now.Add(time.Minute)}), []string{"ev_b", "ev_c"}, "since is inclusive")
	equal(t, list(storage.AuditFilter{Until: now.Add(2 * time.Minute)}), []string{"ev_a", "ev_b"}, "until is exclusive")
	equal(t, list(storage.AuditFilter{Since: now.Add(time.Second), Until: now.Add(3 * time.Minute), Type: "client.created"}),
		[]string{"ev_c"}, "filters combine")
	equal(t, list(storage.AuditFilter{After: "ev_a"}), []string{"ev_b", "ev_c"}, "after the cursor")
	equal(t, list(storage.AuditFilter{After: "ev_c"}), []string{}, "after the last")
	equal(t, list(storage.AuditFilter{Limit: 2}), []string{"ev_a", "ev_b"}, "limit")
	equal(t, list(storage.AuditFilter{Type: "nothing"}), []string{}, "no match")
}

func testAuditLimits(t *testing.T, s storage.Storage) {
	c := ctx(t)
	evs := make([]storage.AuditEvent, storage.MaxAuditLimit+5)
	for i := range evs {
		evs[i] = storage.AuditEvent{ID: fmt.Sprintf("ev_%05d", i), Time: now, Type: "t"}
	}
	must(t, s.AppendAuditEvents(c, evs...), "append many in one call")
	got, err := s.ListAuditEvents(c, storage.AuditFilter{})
	must(t, err, "list default")
	equal(t, len(got), storage.DefaultAuditLimit, "default limit")
	got, err = s.ListAuditEvents(c, storage.AuditFilter{Limit: 1 << 20})
	must(t, err, "list too many")
	equal(t, len(got), storage.MaxAuditLimit, "limit bounded")
	equal(t, got[0].Detail, map[string]string(nil), "no detail reads back as none")
}

// testAuditPagingUnderConcurrentAppends pages through the log while many
// writers append at once: pages never repeat an event and run in id order,
// and once the writers are done a full paging sees each event exactly once.
func testAuditPagingUnderConcurrentAppends(t *testing.T, s storage.Storage) {
	c := ctx(t)
	const perWriter = 10
	seen := map[string]int{}
	page := func(after string) string {
		for {
			evs, err := s.ListAuditEvents(c, storage.AuditFilter{After: after, Limit: 7})
			must(t, err, "page")
			for i, e := range evs {
				if e.ID <= after || (i > 0 && e.ID <= evs[i-1].ID) {
					t.Fatalf("page after %q out of order: %v", after, ids(evs))
				}
				seen[e.ID]++
			}
			if len(evs) == 0 {
				return after
			}
			after = evs[len(evs)-1].ID
		}
	}
	stop := make(chan struct{})
	readerDone := make(chan string)
	go func() { // a reader following the log while it grows
		cursor := ""
		for {
			select {
			case <-stop:
				readerDone <- cursor
				return
			default:
			}
			evs, err := s.ListAuditEvents(c, storage.AuditFilter{After: cursor, Limit: 5})
			if err != nil {
				t.Errorf("follow: %v", err)
				readerDone <- cursor
				return
			}
			for i, e := range evs {
				if e.ID <= cursor || (i > 0 && e.ID <= evs[i-1].ID) {
					t.Errorf("followed page after %q out of order: %v", cursor, ids(evs))
				}
			}
			if len(evs) > 0 {
				cursor = evs[len(evs)-1].ID
			}
		}
	}()
	errs := together(workers, func(i int) error {
		for j := range perWriter {
			e := storage.AuditEvent{ID: secrets.SortableID("ev_"), Time: now, Type: "t", Subject: fmt.Sprintf("w%d-%d", i, j)}
			if err := s.AppendAuditEvents(c, e); err != nil {
				return err
			}
		}
		return nil
	})
	close(stop)
	<-readerDone
	for i, err := range errs {
		must(t, err, fmt.Sprintf("writer %d", i))
	}
	page("")
	equal(t, len(seen), workers*perWriter, "distinct events paged")
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s paged %d times", id, n)
		}
	}
}

func testAuditIDsSortByTime(t *testing.T, s storage.Storage) {
	c := ctx(t)
	var want []string
	for range 50 {
		e := storage.AuditEvent{ID: secrets.SortableID("ev_"), Time: now, Type: "t"}
		want = append(want, e.ID)
		must(t, s.AppendAuditEvents(c, e), "append")
	}
	if !slices.IsSorted(want) {
		t.Fatalf("ids made one after another do not sort: %v", want)
	}
	got, err := s.ListAuditEvents(c, storage.AuditFilter{})
	must(t, err, "list")
	equal(t, ids(got), want, "listed in the order they were made")
	// An event stored without id or time is given both.
	must(t, s.AppendAuditEvents(c, storage.AuditEvent{Type: "late"}), "append without id")
	got, err = s.ListAuditEvents(c, storage.AuditFilter{Type: "late"})
	must(t, err, "list late")
	if len(got) != 1 || got[0].ID <= want[len(want)-1] || got[0].Time.IsZero() {
		t.Fatalf("event stored without id: %+v, want an id after %s and a time", got, want[len(want)-1])
	}
}

func testAuditDeleteBefore(t *testing.T, s storage.Storage) {
	c := ctx(t)
	var evs []storage.AuditEvent
	for i := range 5 {
		evs = append(evs, storage.AuditEvent{ID: fmt.Sprintf("ev_%d", i), Time: now.Add(time.Duration(i) * time.Hour), Type: "t"})
	}
	must(t, s.AppendAuditEvents(c, evs...), "append")
	n, err := s.DeleteAuditEventsBefore(c, now.Add(2*time.Hour))
	must(t, err, "delete before")
	equal(t, n, int64(2), "deleted")
	got, err := s.ListAuditEvents(c, storage.AuditFilter{})
	must(t, err, "list")
	equal(t, ids(got), []string{"ev_2", "ev_3", "ev_4"}, "kept the event at the bound and later")
	n, err = s.DeleteAuditEventsBefore(c, now.Add(2*time.Hour))
	must(t, err, "delete again")
	equal(t, n, int64(0), "deleted again")
}

// issueEvent is the token.issued event a grant stores with its tokens.
func issueEvent(id string) *storage.AuditEvent {
	ev := auditEvent(id, "token.issued", 0)
	return &ev
}

// testTokenIssueEvents: an issue's event is stored in the transaction of
// its tokens, so it exists exactly when they do: every one of concurrent
// CreateTokens calls, and only the winner of a raced code redemption and
// of a raced rotation.
func testTokenIssueEvents(t *testing.T, s storage.Storage) {
	c := ctx(t)
	f := setup(t, s)
	errs := together(workers, func(i int) error {
		set := f.tokens(fmt.Sprint("fam-", i), fmt.Sprint("cc-", i), now)
		set.Event = issueEvent(fmt.Sprint("ev_cc_", i))
		return s.CreateTokens(c, set)
	})
	for i, err := range errs {
		must(t, err, fmt.Sprint("create tokens ", i))
	}
	evs, err := s.ListAuditEvents(c, storage.AuditFilter{Type: "token.issued"})
	must(t, err, "list issue events")
	equal(t, len(evs), workers, "one event per concurrent issue")
	want := *issueEvent("ev_cc_0")
	for _, e := range evs {
		if e.ID == want.ID {
			equal(t, e, want, "issue event round trip")
		}
	}

	code := f.code("code-ev", now.Add(5*time.Minute))
	must(t, s.CreateAuthCode(c, code), "create code")
	errs = together(workers, func(i int) error {
		set := f.tokens(code.ID, fmt.Sprint("code-ev-", i), now)
		set.Event = issueEvent(fmt.Sprint("ev_code_", i))
		return s.RedeemAuthCode(c, code.ID, now.Add(time.Second), set)
	})
	winner := exactlyOne(t, errs, "redeem code", storage.ErrAlreadyUsed)
	evs, err = s.ListAuditEvents(c, storage.AuditFilter{Type: "token.issued", After: "ev_cc_~"})
	must(t, err, "list code events")
	equal(t, ids(evs), []string{fmt.Sprint("ev_code_", winner)}, "only the winning redemption's event")

	must(t, s.CreateTokens(c, f.tokens("fam", "0", now)), "create the family to rotate")
	results := together(workers, func(i int) error {
		rot := f.rotation("rt-0", fmt.Sprint("rot-", i), now.Add(time.Minute), 0)
		rot.Event = issueEvent(fmt.Sprint("ev_rot_", i))
		_, err := s.RotateRefreshToken(c, rot)
		return err
	})
	winner = exactlyOne(t, results, "rotate", storage.ErrTokenReused, storage.ErrRevoked)
	evs, err = s.ListAuditEvents(c, storage.AuditFilter{Type: "token.issued", After: "ev_code_~"})
	must(t, err, "list rotation events")
	equal(t, ids(evs), []string{fmt.Sprint("ev_rot_", winner)}, "only the winning rotation's event")
}
