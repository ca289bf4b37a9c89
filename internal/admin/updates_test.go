package admin_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/demo"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// auditOf lists the platform's audit events of type typ.
func (e *env) auditOf(t *testing.T, typ string) []map[string]any {
	t.Helper()
	var page struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/audit-events?type="+typ, nil)).decode(t, &page)
	return page.Items
}

// TestPatchClient: a PATCH changes what it names, at once (the token
// endpoint sees the new lifetime), honours If-Match in its transaction,
// refuses what binds a client, stays in the tenant, and is audited.
func TestPatchClient(t *testing.T) {
	e := start(t)
	r := e.must(t, 201, e.call(t, e.m777, "POST", "/admin/v1/clients", map[string]any{"client_id": "till-777",
		"client_name": "Till", "grant_types": []string{"client_credentials"}, "scope": "user_read", "access_token_ttl": 600}))
	secret := r.object(t)["client_secret"].(string)
	etag := r.header.Get("ETag")
	stale := opts{header: map[string]string{"If-Match": `"stale"`}}
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777", map[string]any{"client_name": "Till 2"}, stale).problem(t, 412, "")

	r = e.must(t, 200, e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777",
		map[string]any{"client_name": "Front till", "access_token_ttl": 120, "scope": "user_read account_read"},
		opts{header: map[string]string{"If-Match": etag}}))
	got := r.object(t)
	if got["client_name"] != "Front till" || got["access_token_ttl"] != float64(120) || got["scope"] != "user_read account_read" ||
		got["merchant_id"] != "777777" || r.header.Get("ETag") == etag {
		t.Fatalf("patched client: %s (ETag %s)", r.body, r.header.Get("ETag"))
	}
	if _, has := got["client_secret"]; has {
		t.Fatal("PATCH shows a secret")
	}
	// The old ETag no longer matches; the token endpoint sees the change at once.
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777", map[string]any{"client_name": "x"},
		opts{header: map[string]string{"If-Match": etag}}).problem(t, 412, "")
	status, body := e.tokenRequest(t, "till-777", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"account_read"}})
	if status != 200 || body["expires_in"] != float64(120) {
		t.Fatalf("token after the PATCH: %d %v; want expires_in 120 and the new scope", status, body)
	}

	// What binds a client cannot change; rules of a new client hold.
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777", map[string]any{"merchant_id": "123456"}, opts{invalid: true}).
		problem(t, 422, "merchant_id")
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777", map[string]any{"client_secret": "mine"}, opts{invalid: true}).
		problem(t, 422, "client_secret")
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777", map[string]any{"grant_types": []string{"implicit"}}).problem(t, 422, "grant_types")
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777", map[string]any{"redirect_uris": []string{"http://evil.example/cb"}}).
		problem(t, 422, "redirect_uris")
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/till-777", map[string]any{"client_name": 7}, opts{invalid: true}).problem(t, 400, "client_name")
	// Another tenant's client is not there for this admin.
	e.call(t, e.m777, "PATCH", "/admin/v1/clients/flexitidemo", map[string]any{"client_name": "Mine now"}).problem(t, 403, "")

	evs := e.auditOf(t, "client.updated")
	if len(evs) != 1 || evs[0]["actor"] != "client:"+merchantAdmin || evs[0]["subject"] != "client:till-777" ||
		evs[0]["detail"].(map[string]any)["fields"] != "client_name,scope,access_token_ttl" {
		t.Fatalf("client.updated events: %v", evs)
	}
}

// TestPatchAccount: username and memberships change; a staff account
// that leaves a merchant loses its tokens; the tenant is kept; what
// cannot change is refused with the way to change it.
func TestPatchAccount(t *testing.T) {
	e := start(t)
	// A merchant admin renames its guest; a taken username is a conflict.
	r := e.must(t, 200, e.call(t, e.m777, "PATCH", "/admin/v1/accounts/acc_demo_johndoe",
		map[string]any{"username": "john.doe", "printed_card_number": "6000986776"}))
	if got := r.object(t); got["username"] != "john.doe" || got["printed_card_number"] != "6000986776" {
		t.Fatalf("patched guest: %s", r.body)
	}
	e.must(t, 201, e.call(t, e.m777, "POST", "/admin/v1/accounts", map[string]any{"kind": "guest", "username": "jane",
		"password": "long-enough-1"}))
	e.call(t, e.m777, "PATCH", "/admin/v1/accounts/acc_demo_johndoe", map[string]any{"username": "JANE"}).problem(t, 409, "")
	e.call(t, e.m777, "PATCH", "/admin/v1/accounts/acc_demo_johndoe", map[string]any{"password": "new-password-1"}, opts{invalid: true}).
		problem(t, 422, "password")
	e.call(t, e.m777, "PATCH", "/admin/v1/accounts/acc_demo_johndoe", map[string]any{"memberships": []string{"merchant:777777"}}).
		problem(t, 422, "memberships")
	// Another tenant's account is not there; a staff account cannot be moved outside the tenant.
	e.call(t, e.m777, "PATCH", "/admin/v1/accounts/acc_demo_acmejewellers", map[string]any{"username": "x"}).problem(t, 403, "")
	staff := e.must(t, 201, e.call(t, e.m777, "POST", "/admin/v1/accounts", map[string]any{"kind": "staff", "username": "clerk-777",
		"memberships": []string{"merchant:777777"}, "password": "long-enough-1"})).object(t)
	e.call(t, e.m777, "PATCH", "/admin/v1/accounts/"+staff["id"].(string),
		map[string]any{"memberships": []string{"merchant:777777", "merchant:123456"}}).problem(t, 403, "memberships")
	e.call(t, e.platform, "PATCH", "/admin/v1/accounts/"+staff["id"].(string),
		map[string]any{"memberships": []string{"merchant:777777", "merchant:nope"}}).problem(t, 422, "memberships")

	// The platform moves ACME's staff account: its token for ACME dies.
	status, body := e.tokenRequest(t, "flexitidemo", "77xde15a-9d33-4c15-930a-3se4b3as33e9",
		url.Values{"grant_type": {"password"}, "username": {"acmejewellers"}, "password": {"dice-vanila-purse"}})
	if status != 200 {
		t.Fatalf("staff login: %d %v", status, body)
	}
	token := body["access_token"].(string)
	if !e.active(t, token) {
		t.Fatal("staff token inactive before the change")
	}
	r = e.must(t, 200, e.call(t, e.platform, "PATCH", "/admin/v1/accounts/acc_demo_acmejewellers",
		map[string]any{"memberships": []string{"merchant:777777"}}))
	if got := r.object(t)["memberships"].([]any); len(got) != 1 || got[0] != "merchant:777777" {
		t.Fatalf("memberships after the PATCH: %s", r.body)
	}
	if e.active(t, token) {
		t.Fatal("the token of a staff account that left the merchant is still active")
	}
	var left map[string]any
	for _, ev := range e.auditOf(t, "account.updated") {
		if ev["subject"] == "account:acc_demo_acmejewellers" {
			left = ev["detail"].(map[string]any)
		}
	}
	if left["left"] != "merchant:123456" || left["revoked"] != "tokens,codes,sessions" || left["fields"] != "memberships" {
		t.Fatalf("account.updated detail: %v", left)
	}
}

// TestConsents: an account's consents are listed and withdrawn, within
// the tenant, with an audit event.
func TestConsents(t *testing.T) {
	e := start(t)
	err := e.site.Store.SaveConsent(context.Background(), storage.Consent{AccountID: "acc_demo_johndoe", ClientID: "awesomesite",
		Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: "777777"}, Scopes: []string{"user_read", "openid"},
		GrantedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// A token the consent let awesomesite get for John, and one another
	// client holds for him.
	token := func(client string) string {
		t.Helper()
		tok, id := e.site.Keys.NewToken(secrets.AccessTokenKind)
		owner := storage.ResourceOwner{Type: storage.OwnerGuest, ID: "acc_demo_johndoe"}
		err := e.site.Store.CreateTokens(context.Background(), storage.TokenSet{Access: &storage.AccessToken{ID: id,
			ClientID: client, AccountID: "acc_demo_johndoe", Owner: owner, Scopes: []string{"user_read"},
			IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	granted, other := token("awesomesite"), token(demo.SPAClientID)
	var page struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.m777, "GET", "/admin/v1/accounts/acc_demo_johndoe/consents", nil)).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0]["client_id"] != "awesomesite" || page.Items[0]["owner"] != "merchant:777777" ||
		!strings.Contains(page.Items[0]["scope"].(string), "user_read") {
		t.Fatalf("consents: %v", page.Items)
	}
	e.call(t, e.m777, "GET", "/admin/v1/accounts/acc_demo_acmejewellers/consents", nil).problem(t, 403, "")
	e.call(t, e.m777, "DELETE", "/admin/v1/accounts/acc_demo_acmejewellers/consents/flexitidemo", nil).problem(t, 403, "")
	if !e.active(t, granted) || !e.active(t, other) {
		t.Fatal("the tokens are not active before the withdrawal")
	}
	e.must(t, 204, e.call(t, e.m777, "DELETE", "/admin/v1/accounts/acc_demo_johndoe/consents/awesomesite", nil))
	// Withdrawing the consent takes back what the client got with it, and
	// only that.
	if e.active(t, granted) {
		t.Error("awesomesite's token for John is still active after he withdrew its consent")
	}
	if !e.active(t, other) {
		t.Error("another client's token for John was revoked with awesomesite's consent")
	}
	e.call(t, e.m777, "DELETE", "/admin/v1/accounts/acc_demo_johndoe/consents/awesomesite", nil).problem(t, 404, "")
	e.must(t, 200, e.call(t, e.m777, "GET", "/admin/v1/accounts/acc_demo_johndoe/consents", nil)).decode(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("consents after withdrawal: %v", page.Items)
	}
	if !strings.Contains(e.logs.String(), `"msg":"admin change","event":"consent.withdrawn"`) {
		t.Errorf("the withdrawal is not logged as an admin change:\n%s", e.logs.String())
	}
	evs := e.auditOf(t, "consent.withdrawn")
	if len(evs) != 1 || evs[0]["actor"] != "client:"+merchantAdmin || evs[0]["subject"] != "account:acc_demo_johndoe" ||
		evs[0]["client_id"] != "awesomesite" || evs[0]["merchant_id"] != "777777" ||
		evs[0]["detail"].(map[string]any)["tokens_revoked"] != "1" {
		t.Fatalf("consent.withdrawn events: %v", evs)
	}
}

// TestWrongMethod: a known path with a method it does not take is 405 with
// Allow, as a problem; an unknown path is 404. (Neither is in the
// document, so these calls bypass its validator.)
func TestWrongMethod(t *testing.T) {
	e := start(t)
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/admin/v1/keys/rotate", "POST"},
		{"PUT", "/admin/v1/clients/awesomesite", "GET, PATCH, DELETE"},
		{"GET", "/admin/v1/nothing-here", ""},
	} {
		req, _ := http.NewRequest(c.method, e.site.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+e.platform)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := http.StatusMethodNotAllowed
		if c.allow == "" {
			want = http.StatusNotFound
		}
		reply{status: res.StatusCode, header: res.Header, body: body}.problem(t, want, "")
		if res.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q; want %q", c.method, c.path, res.Header.Get("Allow"), c.allow)
		}
	}
}

// TestPatchBounds: a PATCH is held to the bounds of a registration (a
// lifetime of 0 to 100 years), must name something to change, and is
// refused for the first member it names that cannot change.
func TestPatchBounds(t *testing.T) {
	e := start(t)
	const century = 100 * 365 * 24 * 3600
	e.must(t, 200, e.call(t, e.platform, "PATCH", "/admin/v1/clients/awesomesite", map[string]any{"refresh_token_ttl": century}))
	for _, member := range []string{"access_token_ttl", "refresh_token_ttl"} {
		// 200 years fits in a time.Duration but not in a registration; 1000 overflows it.
		for _, secs := range []int64{2 * century, 10 * century} {
			e.call(t, e.platform, "PATCH", "/admin/v1/clients/awesomesite", map[string]any{member: secs}, opts{invalid: true}).
				problem(t, 422, member)
		}
	}
	e.call(t, e.platform, "PATCH", "/admin/v1/clients/awesomesite", map[string]any{}, opts{invalid: true}).problem(t, 400, "")
	e.call(t, e.platform, "PATCH", "/admin/v1/accounts/acc_demo_johndoe", map[string]any{}, opts{invalid: true}).problem(t, 400, "")
	e.call(t, e.platform, "PATCH", "/admin/v1/accounts/acc_demo_johndoe", `{"kind":"staff","disabled":true}`, opts{invalid: true}).
		problem(t, 422, "kind")
	if got := e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/clients/awesomesite", nil)).object(t); got["refresh_token_ttl"] != float64(century) {
		t.Fatalf("a refused PATCH changed the client: %v", got)
	}
	if evs := e.auditOf(t, "client.updated"); len(evs) != 1 {
		t.Fatalf("client.updated events: %v; want the one accepted PATCH's", evs)
	}
}

// TestPatchIfMatchRace: PATCHes sent at once with the same If-Match are
// checked in the transaction that writes, so exactly one wins and the
// others are 412; none overwrites the winner. On PostgreSQL, where several
// group-commit writers run at once, the row lock decides it.
func TestPatchIfMatchRace(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { patchIfMatchRace(t, start(t)) })
	t.Run("postgres", func(t *testing.T) { patchIfMatchRace(t, startOn(t, pgtest.DSN(t))) })
}

func patchIfMatchRace(t *testing.T, e *env) {
	etag := e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/clients/awesomesite", nil)).header.Get("ETag")
	const n = 6
	newReq := func(name string) *http.Request {
		req, _ := http.NewRequest("PATCH", e.site.URL+"/admin/v1/clients/awesomesite", strings.NewReader(`{"client_name":"`+name+`"}`))
		req.Header.Set("Authorization", "Bearer "+e.platform)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", etag)
		return req
	}
	type answer struct {
		name string
		res  *http.Response // its body read into memory; nil if the request failed
	}
	answers := make(chan answer, n)
	names := make(chan string, n)
	start := make(chan struct{}) // released together, so the PATCHes overlap
	for i := range n {
		go func() {
			<-start
			name := "Awesome " + strconv.Itoa(i)
			res, err := http.DefaultClient.Do(newReq(name))
			if err != nil {
				answers <- answer{name: name}
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			res.Body = io.NopCloser(bytes.NewReader(body))
			if res.StatusCode == 200 {
				names <- name
			}
			answers <- answer{name, res}
		}()
	}
	close(start)
	won := 0
	for range n {
		a := <-answers
		if a.res == nil {
			t.Errorf("a racing PATCH failed")
			continue
		}
		// Checked here, not in the goroutines: the validator is the test's.
		if ok, errs := e.v.ValidateHttpResponse(newReq(a.name), a.res); !ok {
			t.Errorf("a racing PATCH's %d answer breaks the document: %v", a.res.StatusCode, errs)
		}
		switch s := a.res.StatusCode; s {
		case 200:
			won++
		case 412:
		default:
			t.Errorf("a racing PATCH answered %d; want 200 or 412", s)
		}
	}
	if won != 1 {
		t.Fatalf("%d racing PATCHes with one If-Match won; want exactly 1", won)
	}
	winner := <-names
	if got := e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/clients/awesomesite", nil)).object(t); got["client_name"] != winner {
		t.Fatalf("client_name %v after the race; want the winner's %q", got["client_name"], winner)
	}
}

// TestGuestConsentWithdrawnOnce: a guest's own consent (owner guest:…)
// withdrawn by two calls at once goes once: one 204, one event, and that
// event names the guest's merchant, so the merchant's admin sees it.
func TestGuestConsentWithdrawnOnce(t *testing.T) {
	e := start(t)
	err := e.site.Store.SaveConsent(context.Background(), storage.Consent{AccountID: "acc_demo_johndoe", ClientID: demo.SPAClientID,
		Owner: storage.ResourceOwner{Type: storage.OwnerGuest, ID: "acc_demo_johndoe"}, Scopes: []string{"user_read"},
		GrantedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	path := "/admin/v1/accounts/acc_demo_johndoe/consents/" + demo.SPAClientID
	start := make(chan struct{})
	statuses := make(chan int, 2)
	for range 2 {
		go func() {
			<-start
			req, _ := http.NewRequest("DELETE", e.site.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.m777)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	close(start)
	got := []int{<-statuses, <-statuses}
	slices.Sort(got)
	if got[0] != http.StatusNoContent || got[1] != http.StatusNotFound {
		t.Fatalf("two withdrawals at once answered %v, want one 204 and one 404", got)
	}
	var page struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.m777, "GET", "/admin/v1/audit-events?type=consent.withdrawn", nil)).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0]["client_id"] != demo.SPAClientID || page.Items[0]["merchant_id"] != "777777" {
		t.Fatalf("consent.withdrawn events merchant 777777's admin sees: %v, want one naming the merchant", page.Items)
	}
}
