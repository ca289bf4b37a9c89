package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/admin"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// auditEvent is an event as GET /audit-events answers it.
type auditEvent struct {
	ID             string            `json:"id"`
	Time           string            `json:"time"`
	Type           string            `json:"type"`
	Actor          string            `json:"actor"`
	Subject        string            `json:"subject"`
	ClientID       string            `json:"client_id"`
	MerchantID     string            `json:"merchant_id"`
	OrganizationID string            `json:"organization_id"`
	Source         string            `json:"source"`
	RequestID      string            `json:"request_id"`
	Detail         map[string]string `json:"detail"`
}

type auditPage struct {
	Items         []auditEvent `json:"items"`
	NextPageToken string       `json:"next_page_token"`
}

// events lists the audit events query selects, walking every page of
// pageSize; it fails the test when a page repeats or reorders an event.
// It returns the events and the raw bodies of the pages.
func (e *env) events(t *testing.T, token, query string, pageSize int) ([]auditEvent, []string) {
	t.Helper()
	var all []auditEvent
	var bodies []string
	next := ""
	for range 1000 {
		q, _ := url.ParseQuery(query)
		q.Set("page_size", strconv.Itoa(pageSize))
		if next != "" {
			q.Set("page_token", next)
		}
		r := e.must(t, 200, e.call(t, token, "GET", "/admin/v1/audit-events?"+q.Encode(), nil))
		bodies = append(bodies, string(r.body))
		var p auditPage
		r.decode(t, &p)
		if len(p.Items) > pageSize || (p.NextPageToken != "" && len(p.Items) != pageSize) {
			t.Fatalf("page of %d events (size %d, next %q)", len(p.Items), pageSize, p.NextPageToken)
		}
		for _, ev := range p.Items {
			if len(all) > 0 && ev.ID <= all[len(all)-1].ID {
				t.Fatalf("event %s after %s: repeated or out of order", ev.ID, all[len(all)-1].ID)
			}
			all = append(all, ev)
		}
		if p.NextPageToken == "" {
			return all, bodies
		}
		next = p.NextPageToken
	}
	t.Fatal("audit-events: no last page after 1000 pages")
	return nil, nil
}

// find is the event of type typ about subject, or fails the test.
func find(t *testing.T, evs []auditEvent, typ, subject string) auditEvent {
	t.Helper()
	for _, ev := range evs {
		if ev.Type == typ && ev.Subject == subject {
			return ev
		}
	}
	t.Fatalf("no %s event about %s among %d events: %+v", typ, subject, len(evs), evs)
	return auditEvent{}
}

// newClient registers a confidential client_credentials client through
// the API and returns its id and secret.
func (e *env) newClient(t *testing.T, token, id, merchant string) (string, string) {
	t.Helper()
	body := map[string]any{"client_id": id, "client_name": "client " + id, "grant_types": []string{"client_credentials"}}
	if merchant != "" {
		body["merchant_id"] = merchant
	}
	c := e.must(t, 201, e.call(t, token, "POST", "/admin/v1/clients", body)).object(t)
	secret, _ := c["client_secret"].(string)
	if secret == "" {
		t.Fatalf("client %s created without a secret: %v", id, c)
	}
	return id, secret
}

// TestAuditEventsRecordClientCreated: a client registered through the
// API is an event with its admin as the actor and its merchant, and the
// listing never shows its secret.
func TestAuditEventsRecordClientCreated(t *testing.T) { auditClientCreated(t, start(t)) }

func TestAuditEventsOnPostgres(t *testing.T) {
	t.Run("client created", func(t *testing.T) { auditClientCreated(t, startOn(t, pgtest.DSN(t))) })
	t.Run("paging and time", func(t *testing.T) { auditPagingAndTime(t, startOn(t, pgtest.DSN(t))) })
	t.Run("every admin change", func(t *testing.T) { auditEveryAdminChange(t, startOn(t, pgtest.DSN(t))) })
	t.Run("consent page", func(t *testing.T) { auditConsentPage(t, startOn(t, pgtest.DSN(t))) })
}

func auditClientCreated(t *testing.T, e *env) {
	before := time.Now().Add(-time.Second)
	id, secret := e.newClient(t, e.platform, "pos-audit", "777777")
	r := e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/audit-events?type=client.created", nil))
	var p auditPage
	r.decode(t, &p)
	for _, ev := range p.Items {
		if ev.Type != "client.created" {
			t.Errorf("type=client.created lists a %s event", ev.Type)
		}
	}
	ev := find(t, p.Items, "client.created", "client:"+id)
	at, err := time.Parse(time.RFC3339, ev.Time)
	if ev.Actor != "client:"+platformAdmin || ev.MerchantID != "777777" || ev.ClientID != id || !strings.HasPrefix(ev.ID, "ev_") ||
		err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) || ev.RequestID == "" {
		t.Fatalf("client.created event: %+v (time: %v)", ev, err)
	}
	if strings.Contains(string(r.body), "client_secret") || strings.Contains(string(r.body), secret) {
		t.Fatalf("audit events show a client secret: %s", r.body)
	}
	// The filters narrow it down to this one event.
	r = e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/audit-events?"+url.Values{"type": {"client.created"},
		"actor": {"client:" + platformAdmin}, "subject": {"client:" + id}, "client_id": {id}, "merchant_id": {"777777"}}.Encode(), nil))
	r.decode(t, &p)
	if len(p.Items) != 1 || p.Items[0].ID != ev.ID || p.NextPageToken != "" {
		t.Fatalf("filtered to the one event: %s", r.body)
	}
	r = e.must(t, 200, e.call(t, e.platform, "GET", "/admin/v1/audit-events?actor=client:"+merchantAdmin, nil))
	r.decode(t, &p)
	if len(p.Items) != 0 {
		t.Fatalf("merchant admin made no change yet, yet: %s", r.body)
	}
}

// TestAuditEventsTenant: a merchant's admin sees its merchant's events
// only, and is refused another's; an organization's admin sees its
// merchants' events; the platform sees them all.
func TestAuditEventsTenant(t *testing.T) {
	e := start(t)
	own, _ := e.newClient(t, e.m777, "pos-777", "")
	other, _ := e.newClient(t, e.platform, "pos-123", "123456")
	e.must(t, 201, e.call(t, e.platform, "POST", "/admin/v1/accounts", map[string]any{"kind": "guest", "username": "bob",
		"merchant_id": "123456", "password": "long-enough-1"}))
	cafe, _ := e.newClient(t, e.platform, "pos-cafe", "m-1001")
	bistro, _ := e.newClient(t, e.platform, "pos-bistro", "m-1002")

	mine, bodies := e.events(t, e.m777, "", 200)
	find(t, mine, "client.created", "client:"+own)
	for _, ev := range mine {
		if ev.MerchantID != "777777" {
			t.Errorf("merchant 777777's admin sees %+v", ev)
		}
	}
	for _, b := range bodies {
		if strings.Contains(b, "123456") || strings.Contains(b, other) {
			t.Fatalf("merchant 777777's admin sees merchant 123456's events: %s", b)
		}
	}
	e.call(t, e.m777, "GET", "/admin/v1/audit-events?merchant_id=123456", nil).problem(t, 403, "merchant_id")
	if again, _ := e.events(t, e.m777, "merchant_id=777777", 200); len(again) != len(mine) {
		t.Fatalf("merchant_id=777777 lists %d events, without it %d", len(again), len(mine))
	}

	// The platform sees both tenants', and one merchant's on asking.
	all, _ := e.events(t, e.platform, "", 200)
	find(t, all, "client.created", "client:"+own)
	find(t, all, "client.created", "client:"+other)
	theirs, _ := e.events(t, e.platform, "merchant_id=123456", 200)
	find(t, theirs, "client.created", "client:"+other)
	accounts := 0
	for _, ev := range theirs {
		if ev.MerchantID != "123456" {
			t.Errorf("merchant_id=123456 lists %+v", ev)
		}
		if ev.Type == "account.created" {
			accounts++
		}
	}
	if accounts != 1 || len(theirs) != 2 {
		t.Errorf("merchant 123456's events: %+v; want its client's and its guest's", theirs)
	}

	// An organization's admin: a staff login acting for o-2001 (merchants
	// m-1001 and m-1002) on a client bound to no merchant.
	ctx := context.Background()
	err := e.site.Store.CreateClient(ctx, storage.Client{ID: "t-backoffice", Name: "back office",
		SecretHash: e.site.Keys.HashClientSecret(adminSecret), GrantTypes: []string{"authorization_code"},
		RedirectURIs: []string{"https://backoffice.example/cb"}, Scopes: []string{admin.Scope}, AccountKind: storage.Staff,
		AccessTokenTTL: time.Minute, AccessTokenFormat: "opaque", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	orgToken, tokenID := e.site.Keys.NewToken(secrets.AccessTokenKind)
	now := time.Now()
	err = e.site.Store.CreateTokens(ctx, storage.TokenSet{Access: &storage.AccessToken{ID: tokenID, ClientID: "t-backoffice",
		AccountID: "acc_demo_aston_owner", Owner: storage.ResourceOwner{Type: storage.OwnerOrganization, ID: "o-2001"},
		Scopes: []string{admin.Scope}, IssuedAt: now, ExpiresAt: now.Add(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	orgs, _ := e.events(t, orgToken, "", 1)
	find(t, orgs, "client.created", "client:"+cafe)
	find(t, orgs, "client.created", "client:"+bistro)
	for _, ev := range orgs {
		if ev.MerchantID != "m-1001" && ev.MerchantID != "m-1002" {
			t.Errorf("organization o-2001's admin sees %+v", ev)
		}
	}
	if one, _ := e.events(t, orgToken, "merchant_id=m-1002", 200); len(one) != 1 || one[0].Subject != "client:"+bistro {
		t.Errorf("organization admin, merchant_id=m-1002: %+v", one)
	}
	e.call(t, orgToken, "GET", "/admin/v1/audit-events?merchant_id=777777", nil).problem(t, 403, "merchant_id")
}

// TestAuditEventsPagingAndTime: pages walk every event once, in order;
// since and until select by time; bad filters are 400 naming the field.
func TestAuditEventsPagingAndTime(t *testing.T) { auditPagingAndTime(t, start(t)) }

func auditPagingAndTime(t *testing.T, e *env) {
	for i := range 7 {
		e.newClient(t, e.platform, "pos-page-"+strconv.Itoa(i), "123456")
	}
	one, _ := e.events(t, e.platform, "", admin.MaxPageSize)
	stored, err := e.site.Store.ListAuditEvents(context.Background(), storage.AuditFilter{Limit: storage.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) < 7 || len(one) != len(stored) {
		t.Fatalf("one page lists %d events; the store holds %d", len(one), len(stored))
	}
	for _, size := range []int{1, 2, 3} {
		paged, bodies := e.events(t, e.platform, "", size)
		if len(paged) != len(one) || len(bodies) != (len(one)+size-1)/size {
			t.Fatalf("page_size=%d: %d events in %d pages; %d in all", size, len(paged), len(bodies), len(one))
		}
		for i := range paged {
			if paged[i].ID != one[i].ID {
				t.Fatalf("page_size=%d: event %d is %s, want %s", size, i, paged[i].ID, one[i].ID)
			}
		}
	}
	// The default page is DefaultPageSize; filters hold across pages.
	typed, _ := e.events(t, e.platform, "type=client.created&merchant_id=123456", 2)
	if len(typed) != 7 {
		t.Fatalf("client.created of 123456, paged by 2: %d events, want 7", len(typed))
	}

	// since (inclusive) and until (exclusive), at the time of the first
	// event later than the first one.
	first, err := time.Parse(time.RFC3339, one[0].Time)
	if err != nil {
		t.Fatal(err)
	}
	var mid auditEvent
	var at time.Time
	for _, ev := range one {
		if ti, _ := time.Parse(time.RFC3339, ev.Time); ti.After(first) {
			mid, at = ev, ti
			break
		}
	}
	if mid.ID == "" {
		t.Fatalf("all %d events have the same time %s", len(one), one[0].Time)
	}
	var later, earlier int
	for _, ev := range one {
		ti, _ := time.Parse(time.RFC3339, ev.Time)
		if ti.Before(at) {
			earlier++
		} else {
			later++
		}
	}
	since, _ := e.events(t, e.platform, "since="+url.QueryEscape(mid.Time), 200)
	find(t, since, mid.Type, mid.Subject)
	until, _ := e.events(t, e.platform, "until="+url.QueryEscape(mid.Time), 200)
	if len(since) != later || len(until) != earlier || earlier == 0 || later == 0 {
		t.Fatalf("since %s: %d events, want %d; until: %d, want %d", mid.Time, len(since), later, len(until), earlier)
	}
	for _, ev := range until {
		if ev.ID == mid.ID {
			t.Fatalf("until %s lists the event at that time", mid.Time)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if evs, _ := e.events(t, e.platform, "since="+future, 200); len(evs) != 0 {
		t.Fatalf("since an hour from now: %d events", len(evs))
	}
	if evs, _ := e.events(t, e.platform, "until="+future, 200); len(evs) != len(one) {
		t.Fatalf("until an hour from now: %d events, want %d", len(evs), len(one))
	}
	p := e.call(t, e.platform, "GET", "/admin/v1/audit-events?since=yesterday", nil).problem(t, 400, "since")
	if !strings.Contains(p.Detail, "RFC 3339") {
		t.Errorf("bad since: %q", p.Detail)
	}
	e.call(t, e.platform, "GET", "/admin/v1/audit-events?until=2025-13-01T00:00:00Z", nil).problem(t, 400, "until")
	e.call(t, e.platform, "GET", "/admin/v1/audit-events?since="+future+"&until="+future, nil).problem(t, 400, "until")
	e.call(t, e.platform, "GET", "/admin/v1/audit-events?page_size=201", nil).problem(t, 400, "page_size")
	e.call(t, e.platform, "GET", "/admin/v1/audit-events?page_token=%21%21", nil).problem(t, 400, "page_token")
}

// TestAuditEventsOfAdminChanges: key rotation and a revocation, each
// recorded by the Directory, are one event each (not one by the API and
// one by the Directory), with the admin as their actor.
func TestAuditEventsOfAdminChanges(t *testing.T) {
	e := start(t)
	var rotated struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.platform, "POST", "/admin/v1/keys/rotate", map[string]any{"algorithms": []string{"ES256"}})).decode(t, &rotated)
	evs, _ := e.events(t, e.platform, "type="+admin.AuditKeysRotated, 200)
	if len(evs) != 1 || evs[0].Actor != "client:"+platformAdmin || evs[0].Subject != "keys" || evs[0].RequestID == "" ||
		evs[0].Detail["count"] != strconv.Itoa(len(rotated.Items)) {
		t.Fatalf("keys.rotated events: %+v (rotation answered %d keys)", evs, len(rotated.Items))
	}
	e.must(t, 204, e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"account_id": "acc_demo_johndoe"}))
	evs, _ = e.events(t, e.m777, "subject=account:acc_demo_johndoe", 200)
	if len(evs) != 1 || evs[0].Type != oauth.AuditAccountTokensRevoked || evs[0].Actor != "client:"+merchantAdmin ||
		evs[0].MerchantID != "777777" {
		t.Fatalf("events of the revocation: %+v", evs)
	}
	// A refused change is no event.
	e.call(t, e.m777, "POST", "/admin/v1/tokens/revoke", map[string]string{"merchant_id": "123456"}).problem(t, 403, "merchant_id")
	e.call(t, e.m777, "POST", "/admin/v1/keys/rotate", nil).problem(t, 403, "")
	if evs, _ := e.events(t, e.platform, "actor=client:"+merchantAdmin, 200); len(evs) != 1 {
		t.Fatalf("merchant admin's events after refused calls: %+v", evs)
	}
}

// only is the one event of type typ about subject, or fails the test when
// there is none or more than one.
func only(t *testing.T, evs []auditEvent, typ, subject string) auditEvent {
	t.Helper()
	var got []auditEvent
	for _, ev := range evs {
		if ev.Type == typ && ev.Subject == subject {
			got = append(got, ev)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d %s events about %s, want 1; all %d events: %+v", len(got), typ, subject, len(evs), evs)
	}
	return got[0]
}

// noSecrets fails the test when a page of audit events holds one of secrets.
func noSecrets(t *testing.T, bodies []string, secrets map[string]string) {
	t.Helper()
	for _, b := range bodies {
		for what, s := range secrets {
			if strings.Contains(b, s) {
				t.Errorf("the audit events hold the %s %q: %s", what, s, b)
			}
		}
	}
}

// TestAuditEventsOfEveryAdminChange: each change the API makes to an
// organization, a merchant, an account and a client, and each revocation
// by client and by merchant, is one event with its type, subject, tenant
// and admin as the actor, and none holds a password, secret or token.
func TestAuditEventsOfEveryAdminChange(t *testing.T) { auditEveryAdminChange(t, start(t)) }

func auditEveryAdminChange(t *testing.T, e *env) {
	p := e.platform
	const org, shop, password = "o-audit", "m-audit", "Gu3st-pa55word-for-audit"
	e.must(t, 201, e.call(t, p, "POST", "/admin/v1/organizations", map[string]string{"id": org, "name": "Audit group"}))
	e.must(t, 201, e.call(t, p, "POST", "/admin/v1/merchants", map[string]string{"id": shop, "name": "Audit shop", "organization_id": org}))
	acc := e.must(t, 201, e.call(t, p, "POST", "/admin/v1/accounts", map[string]any{"kind": "guest", "username": "audited",
		"merchant_id": shop, "password": password})).object(t)
	accID, _ := acc["id"].(string)
	if accID == "" {
		t.Fatalf("created account: %v", acc)
	}
	e.must(t, 200, e.call(t, p, "POST", "/admin/v1/accounts/"+accID+"/disable", nil))
	e.must(t, 200, e.call(t, p, "POST", "/admin/v1/accounts/"+accID+"/enable", nil))

	clientID, secret := e.newClient(t, p, "pos-audit-shop", shop)
	first := e.clientToken(t, clientID, secret)
	e.must(t, 204, e.call(t, p, "POST", "/admin/v1/tokens/revoke", map[string]string{"client_id": clientID}))
	second := e.clientToken(t, clientID, secret)
	e.must(t, 204, e.call(t, p, "POST", "/admin/v1/tokens/revoke", map[string]string{"merchant_id": shop}))
	if e.active(t, first) || e.active(t, second) {
		t.Fatal("a revoked token is still active")
	}

	e.must(t, 204, e.call(t, p, "DELETE", "/admin/v1/accounts/"+accID, nil))
	e.must(t, 204, e.call(t, p, "DELETE", "/admin/v1/clients/"+clientID, nil))
	e.must(t, 204, e.call(t, p, "DELETE", "/admin/v1/merchants/"+shop, nil))
	e.must(t, 204, e.call(t, p, "DELETE", "/admin/v1/organizations/"+org, nil))

	evs, bodies := e.events(t, p, "", 200)
	actor := "client:" + platformAdmin
	account, client, merchant, organization := "account:"+accID, "client:"+clientID, "merchant:"+shop, "organization:"+org
	for _, c := range []struct {
		typ, subject   string
		merchant, org  string // the event's tenant ids
		client, detail string // its client_id, and a detail key=value it must have ("" for none)
	}{
		{oauth.AuditOrganizationCreated, organization, "", org, "", "name=Audit group"},
		{oauth.AuditMerchantCreated, merchant, shop, org, "", "name=Audit shop"},
		{oauth.AuditAccountCreated, account, shop, "", "", "kind=guest"},
		{oauth.AuditAccountDisabled, account, shop, "", "", ""},
		{oauth.AuditAccountEnabled, account, shop, "", "", ""},
		{oauth.AuditClientCreated, client, shop, "", clientID, ""},
		{oauth.AuditClientTokensRevoked, client, shop, "", clientID, "count=1"},
		{oauth.AuditMerchantTokensRevoked, merchant, shop, org, "", "count=1"},
		{oauth.AuditAccountDeleted, account, shop, "", "", ""},
		{oauth.AuditClientDeleted, client, shop, "", clientID, ""},
		{oauth.AuditMerchantDeleted, merchant, shop, org, "", ""},
		{oauth.AuditOrganizationDeleted, organization, "", org, "", ""},
	} {
		ev := only(t, evs, c.typ, c.subject)
		k, v, _ := strings.Cut(c.detail, "=")
		if ev.Actor != actor || ev.MerchantID != c.merchant || ev.OrganizationID != c.org || ev.ClientID != c.client ||
			ev.RequestID == "" || ev.Source == "" || (k != "" && ev.Detail[k] != v) {
			t.Errorf("%s event: %+v; want actor %s, merchant %q, organization %q, client %q, detail %s, a request id and a source",
				c.typ, ev, actor, c.merchant, c.org, c.client, c.detail)
		}
	}
	noSecrets(t, bodies, map[string]string{"guest's password": password, "client secret": secret, "client's first token": first,
		"client's second token": second, "admin secret": adminSecret, "platform admin's token": p, "merchant admin's token": e.m777})
}

// TestAuditEventsOfConsentPage: a guest who signs in and allows an app on
// the consent page leaves one consent.given event, the guest its actor and
// subject, which the merchant's admin lists; neither the typed password
// nor the code the app gets is in any event.
func TestAuditEventsOfConsentPage(t *testing.T) { auditConsentPage(t, start(t)) }

func auditConsentPage(t *testing.T, e *env) {
	const app, callback = "audit-web", "https://app.example/cb"
	err := e.site.Store.CreateClient(context.Background(), storage.Client{ID: app, Name: "Audit web",
		SecretHash: e.site.Keys.HashClientSecret("audit-web-secret"), GrantTypes: []string{"authorization_code"},
		Scopes: []string{"user_read", "account_read"}, DefaultScopes: []string{"user_read"}, RedirectURIs: []string{callback},
		AccessTokenTTL: time.Minute, MerchantID: "777777", AccountKind: storage.Guest, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	a := webtest.NewAgent(t)
	status, _, body := a.Get(e.site.URL + "/oauth2/authorize?" + url.Values{"client_id": {app}, "response_type": {"code"},
		"state": {"s-audit"}, "scope": {"user_read"}, "redirect_uri": {callback}}.Encode())
	if status != http.StatusOK || !strings.Contains(body, `<form id="login"`) {
		t.Fatalf("login page: %d %s", status, body)
	}
	_, form := webtest.Form(body)
	form.Set("action", "login")
	form.Set("username", "johndoe")
	form.Set("password", "open456")
	status, _, body = a.Post(e.site.URL+"/oauth2/authorize", form)
	if status != http.StatusOK || !strings.Contains(body, `<form id="consent"`) {
		t.Fatalf("after login: %d %s", status, body)
	}
	// Nothing is given before the person allows.
	if evs, _ := e.events(t, e.platform, "type="+oauth.AuditConsentGiven, 200); len(evs) != 0 {
		t.Fatalf("consent.given before the consent page was answered: %+v", evs)
	}
	status, h, _ := a.Submit(e.site.URL, body, url.Values{"action": {"consent"}, "decision": {"allow"}})
	loc, _ := url.Parse(h.Get("Location"))
	code := loc.Query().Get("code")
	if status != http.StatusSeeOther || code == "" || !strings.HasPrefix(h.Get("Location"), callback) {
		t.Fatalf("allow: %d %q", status, h.Get("Location"))
	}

	evs, bodies := e.events(t, e.m777, "type="+oauth.AuditConsentGiven, 200)
	john := "account:acc_demo_johndoe"
	ev := only(t, evs, oauth.AuditConsentGiven, john)
	if ev.Actor != john || ev.ClientID != app || ev.MerchantID != "777777" || ev.Detail["scope"] != "user_read" ||
		ev.Detail["owner"] != "guest:acc_demo_johndoe" || ev.RequestID == "" || ev.Source == "" {
		t.Fatalf("consent.given event: %+v", ev)
	}
	_, all := e.events(t, e.platform, "", 200)
	noSecrets(t, append(bodies, all...), map[string]string{"typed password": "open456", "authorization code": code,
		"client secret": "audit-web-secret"})
}
