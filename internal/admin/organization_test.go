package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/admin"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// TestOrganizationBoundAdmin: a client registered through the API with
// organization_id o-2001 and latchkey:admin administers that organization
// and its merchants (m-1001, m-1002) and nothing else; its
// client_credentials tokens act for the organization; a client it
// registers is bound to it by default; token_endpoint_auth_method is
// shown back as registered. Every call is checked against the document.
func TestOrganizationBoundAdmin(t *testing.T) { organizationBoundAdmin(t, start(t)) }

func organizationBoundAdmin(t *testing.T, e *env) {
	p := e.platform
	created := e.must(t, 201, e.call(t, p, "POST", "/admin/v1/clients", map[string]any{"client_name": "Aston back office",
		"grant_types": []string{"client_credentials"}, "scope": "latchkey:admin", "default_scope": "latchkey:admin",
		"account_kind": "staff", "organization_id": "o-2001", "token_endpoint_auth_method": "client_secret_post"})).object(t)
	if created["organization_id"] != "o-2001" || created["merchant_id"] != nil || created["token_endpoint_auth_method"] != "client_secret_post" {
		t.Fatalf("created: %v", created)
	}
	id, secret := created["client_id"].(string), created["client_secret"].(string)
	got := e.must(t, 200, e.call(t, p, "GET", "/admin/v1/clients/"+id, nil)).object(t)
	if got["organization_id"] != "o-2001" || got["token_endpoint_auth_method"] != "client_secret_post" {
		t.Fatalf("read back: %v", got)
	}
	// Both bindings at once, and an unknown organization, are refused.
	e.call(t, p, "POST", "/admin/v1/clients", map[string]any{"client_name": "Both", "grant_types": []string{"client_credentials"},
		"account_kind": "staff", "merchant_id": "m-1001", "organization_id": "o-2001"}).problem(t, 422, "merchant_id")
	e.call(t, p, "POST", "/admin/v1/clients", map[string]any{"client_name": "Nowhere", "grant_types": []string{"client_credentials"},
		"account_kind": "staff", "organization_id": "o-nope"}).problem(t, 422, "organization_id")
	// The organization with a bound client cannot be deleted.
	e.call(t, p, "DELETE", "/admin/v1/organizations/o-2001", nil).problem(t, 409, "")

	status, body := e.tokenRequest(t, id, secret, url.Values{"grant_type": {"client_credentials"}})
	if status != http.StatusOK {
		t.Fatalf("client_credentials of the organization's client: %d %v", status, body)
	}
	org := body["access_token"].(string)
	claims := e.introspect(t, org)
	if claims["organization_id"] != "o-2001" || claims["merchant_id"] != nil {
		t.Errorf("the token should act for the organization: %v", claims)
	}

	// Inside: its organization, its merchants, their staff, its clients.
	e.must(t, 200, e.call(t, org, "GET", "/admin/v1/organizations/o-2001", nil))
	e.must(t, 200, e.call(t, org, "GET", "/admin/v1/merchants/m-1001", nil))
	e.must(t, 200, e.call(t, org, "GET", "/admin/v1/accounts/acc_demo_aston_owner", nil))
	e.must(t, 200, e.call(t, org, "GET", "/admin/v1/clients/"+id, nil))
	mine := e.must(t, 201, e.call(t, org, "POST", "/admin/v1/clients", map[string]any{"client_name": "Till",
		"grant_types": []string{"client_credentials"}, "account_kind": "staff"})).object(t)
	if mine["organization_id"] != "o-2001" {
		t.Errorf("a client the organization's admin registers should be bound to it: %v", mine)
	}
	e.must(t, 201, e.call(t, org, "POST", "/admin/v1/clients", map[string]any{"client_name": "Cafe till",
		"grant_types": []string{"client_credentials"}, "account_kind": "staff", "merchant_id": "m-1002"}))

	// Its audit trail: the events of its merchants and those that name the
	// organization (its own clients'), each once, in order, in pages of 2;
	// none of another tenant's.
	evs, _ := e.events(t, org, "", 2)
	seen := map[string]int{}
	for _, ev := range evs {
		seen[ev.Type+" "+ev.Subject]++
		if ev.MerchantID != "m-1001" && ev.MerchantID != "m-1002" && ev.OrganizationID != "o-2001" {
			t.Errorf("the organization's admin lists an event of another tenant: %+v", ev)
		}
	}
	for _, want := range []string{"client.created client:" + mine["client_id"].(string), "client.created client:" + id} {
		if seen[want] != 1 {
			t.Errorf("event %q listed %d times for the organization's admin, want once (%v)", want, seen[want], seen)
		}
	}
	if seen["token.issued "] == 0 {
		t.Errorf("the organization's client_credentials token.issued event is not listed: %v", seen)
	}

	// Outside: 403 for every resource.
	e.call(t, org, "GET", "/admin/v1/merchants/777777", nil).problem(t, 403, "")
	e.call(t, org, "GET", "/admin/v1/accounts/acc_demo_johndoe", nil).problem(t, 403, "")
	e.call(t, org, "POST", "/admin/v1/accounts/acc_demo_johndoe/disable", nil).problem(t, 403, "")
	e.call(t, org, "GET", "/admin/v1/accounts/acc_demo_johndoe/consents", nil).problem(t, 403, "")
	e.call(t, org, "GET", "/admin/v1/clients/flexitidemo", nil).problem(t, 403, "")
	e.call(t, org, "DELETE", "/admin/v1/clients/flexitidemo", nil).problem(t, 403, "")
	e.call(t, org, "POST", "/admin/v1/clients", map[string]any{"client_name": "Intruder", "grant_types": []string{"client_credentials"},
		"account_kind": "staff", "merchant_id": "123456"}).problem(t, 403, "merchant_id")
	e.call(t, org, "POST", "/admin/v1/tokens/revoke", map[string]string{"merchant_id": "777777"}).problem(t, 403, "merchant_id")
	e.call(t, org, "POST", "/admin/v1/organizations", map[string]string{"id": "o-9", "name": "Mine"}).problem(t, 403, "")
	e.call(t, org, "DELETE", "/admin/v1/organizations/o-2001", nil).problem(t, 403, "")
	e.call(t, org, "POST", "/admin/v1/merchants", map[string]string{"id": "m-9", "name": "Mine", "organization_id": "o-2001"}).problem(t, 403, "")
	e.call(t, org, "GET", "/admin/v1/keys", nil).problem(t, 403, "")

	// Lists hold only what is inside.
	var merchants, orgs, clients struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, org, "GET", "/admin/v1/merchants", nil)).decode(t, &merchants)
	e.must(t, 200, e.call(t, org, "GET", "/admin/v1/organizations", nil)).decode(t, &orgs)
	e.must(t, 200, e.call(t, org, "GET", "/admin/v1/clients?page_size=200", nil)).decode(t, &clients)
	if len(merchants.Items) != 2 || len(orgs.Items) != 1 || orgs.Items[0]["id"] != "o-2001" {
		t.Errorf("the organization's admin lists merchants %v and organizations %v", merchants.Items, orgs.Items)
	}
	for _, m := range merchants.Items {
		if m["organization_id"] != "o-2001" {
			t.Errorf("merchant outside the organization listed: %v", m)
		}
	}
	if len(clients.Items) != 3 {
		t.Errorf("the organization's admin lists %d clients, want its own 3: %v", len(clients.Items), clients.Items)
	}
	for _, c := range clients.Items {
		if c["organization_id"] != "o-2001" && c["merchant_id"] != "m-1002" {
			t.Errorf("client outside the organization listed: %v", c)
		}
	}
	// A merchant's admin does not see the organization's clients.
	e.call(t, e.m777, "GET", "/admin/v1/clients/"+id, nil).problem(t, 403, "")

	// Staff log in to an organization-bound app only as members of the
	// organization, and then act for it: staff of another merchant do not
	// get the organization's administration by logging in there.
	app := e.must(t, 201, e.call(t, p, "POST", "/admin/v1/clients", map[string]any{"client_name": "Aston staff console",
		"grant_types": []string{"password"}, "scope": "latchkey:admin", "default_scope": "latchkey:admin",
		"account_kind": "staff", "organization_id": "o-2001"})).object(t)
	appID, appSecret := app["client_id"].(string), app["client_secret"].(string)
	status, body = e.tokenRequest(t, appID, appSecret, url.Values{"grant_type": {"password"},
		"username": {"acmejewellers"}, "password": {"dice-vanila-purse"}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("staff of merchant 123456 logging in to o-2001's app: %d %v, want invalid_grant", status, body)
	}
	status, body = e.tokenRequest(t, appID, appSecret, url.Values{"grant_type": {"password"},
		"username": {"owner@astonclub.example"}, "password": {"correct-horse-battery"}})
	if status != http.StatusOK {
		t.Fatalf("a member of o-2001 logging in to its app: %d %v", status, body)
	}
	staff := body["access_token"].(string)
	if claims := e.introspect(t, staff); claims["organization_id"] != "o-2001" || claims["merchant_id"] != nil {
		t.Errorf("the member's token should act for the organization: %v", claims)
	}
	e.must(t, 200, e.call(t, staff, "GET", "/admin/v1/merchants/m-1002", nil))
	e.call(t, staff, "GET", "/admin/v1/merchants/123456", nil).problem(t, 403, "")

	// The security events of its app name the organization, so its admin
	// sees them: the refused and the accepted login.
	evs, _ = e.events(t, org, "client_id="+appID, 50)
	logins := map[string]int{}
	for _, ev := range evs {
		logins[ev.Type]++
	}
	if logins["login.failed"] != 1 || logins["login.succeeded"] != 1 {
		t.Errorf("the organization's admin sees its app's login events %v, want one failed and one succeeded", logins)
	}
}

// TestMerchantAdminLists: a merchant's admin lists only its merchant and
// no organization.
func TestMerchantAdminLists(t *testing.T) {
	e := start(t)
	var merchants, orgs struct{ Items []map[string]any }
	e.must(t, 200, e.call(t, e.m777, "GET", "/admin/v1/merchants", nil)).decode(t, &merchants)
	e.must(t, 200, e.call(t, e.m777, "GET", "/admin/v1/organizations", nil)).decode(t, &orgs)
	if len(merchants.Items) != 1 || merchants.Items[0]["id"] != "777777" || len(orgs.Items) != 0 {
		t.Errorf("merchant 777777's admin lists merchants %v and organizations %v", merchants.Items, orgs.Items)
	}
	e.call(t, e.m777, "POST", "/admin/v1/accounts/acc_demo_acmejewellers/enable", nil).problem(t, 403, "")
	e.call(t, e.m777, "DELETE", "/admin/v1/organizations/o-2001", nil).problem(t, 403, "")
}

// TestBoundClientTokenMustActForItsBinding: a bound client's token
// administers its merchant or organization only while it acts for it. A
// token issued before the client was bound elsewhere (only the store can
// rebind one: the API, the CLI and the import refuse to) administers
// nothing.
func TestBoundClientTokenMustActForItsBinding(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	err := e.site.Store.CreateClient(ctx, storage.Client{ID: "t-rebound", Name: "rebound", SecretHash: e.site.Keys.HashClientSecret(adminSecret),
		GrantTypes: []string{"client_credentials"}, Scopes: []string{admin.Scope}, DefaultScopes: []string{admin.Scope},
		AccessTokenTTL: time.Hour, MerchantID: "777777", AccountKind: storage.Staff, AccessTokenFormat: "opaque", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	old := e.clientToken(t, "t-rebound", adminSecret)
	e.must(t, 200, e.call(t, old, "GET", "/admin/v1/merchants/777777", nil))
	err = e.site.Store.UpdateClient(ctx, "t-rebound", func(c storage.Client) (storage.Client, error) {
		c.MerchantID, c.OrganizationID = "", "o-2001"
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.call(t, old, "GET", "/admin/v1/merchants/m-1001", nil).problem(t, 403, "")
	e.call(t, old, "GET", "/admin/v1/organizations/o-2001", nil).problem(t, 403, "")
	e.call(t, old, "GET", "/admin/v1/merchants/777777", nil).problem(t, 403, "")
}

// TestGuestTokenNeverAdministers: a guest's token is no admin's, even from
// a client bound to the guest's merchant that may ask for latchkey:admin.
func TestGuestTokenNeverAdministers(t *testing.T) {
	e := start(t)
	err := e.site.Store.CreateClient(context.Background(), storage.Client{ID: "t-guest-app", Name: "guest app",
		SecretHash: e.site.Keys.HashClientSecret(adminSecret), GrantTypes: []string{"password"}, Scopes: []string{admin.Scope},
		DefaultScopes: []string{admin.Scope}, AccessTokenTTL: time.Hour, MerchantID: "777777", AccountKind: storage.Guest,
		AccessTokenFormat: "opaque", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	status, body := e.tokenRequest(t, "t-guest-app", adminSecret, url.Values{"grant_type": {"password"},
		"username": {"johndoe"}, "password": {"open456"}})
	if status != http.StatusOK {
		t.Fatalf("guest login: %d %v", status, body)
	}
	e.call(t, body["access_token"].(string), "GET", "/admin/v1/accounts/acc_demo_johndoe", nil).problem(t, 403, "")
}
