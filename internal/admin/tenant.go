package admin

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// This file is the one place that decides what an admin token may see
// and change.
//
// The tenant of a token with the scope latchkey:admin is:
//   - the merchant or organization its client is bound to
//     (storage.Client.MerchantID, OrganizationID), when the token acts for
//     it (a bound client's token for anyone else, a guest's, is none);
//   - else, for a token acting for a merchant or an organization (a staff
//     login that picked one), that merchant or organization;
//   - else, for a client_credentials token of a client bound to nothing,
//     the whole platform;
//   - else (a guest's token, a person acting for no tenant): none, 403.
//
// A merchant tenant covers that merchant; an organization tenant covers
// the organization and its merchants. Within it an admin sees the guests
// of its merchants, the staff with a membership in it, and the clients
// bound to its merchants (and, for an organization, to it). It changes a staff account only when every
// membership of the account is inside the tenant (a person shared with
// another tenant is managed by the platform). Every call on an object
// outside the tenant answers 403 (the API's contract, docs/ADMIN-API.md),
// as does naming one in a request body (creating a client for
// another merchant, revoking another merchant's tokens) and every
// platform-only call; an id that exists nowhere is 404. A tenant admin can
// so learn that an id exists elsewhere, never what it holds.

var errNoTenant = errors.New("an admin token must act for a merchant, an organization, or (client_credentials of a client bound to neither) the platform")

// scope is the part of the platform a caller administers.
type scope struct {
	all          bool
	merchant     string // a merchant tenant
	organization string // an organization tenant
	merchants    map[string]bool
}

// String names the tenant for logs and messages.
func (s *scope) String() string {
	switch {
	case s.all:
		return "platform"
	case s.organization != "":
		return "organization " + s.organization
	}
	return "merchant " + s.merchant
}

// scopeOf works out the tenant of a token.
func (h *Handler) scopeOf(ctx context.Context, acc oauth.Access) (*scope, error) {
	client, err := h.dir.Client(ctx, acc.ClientID)
	if err != nil {
		return nil, err
	}
	if bound, ok := oauth.BoundOwner(client); ok {
		// The token must act for what the client is bound to: a guest's
		// token never administers, nor one from before a binding changed.
		switch {
		case acc.Owner != bound:
			return nil, errNoTenant
		case bound.Type == storage.OwnerOrganization:
			return h.organizationScope(ctx, bound.ID)
		}
		return &scope{merchant: bound.ID, merchants: map[string]bool{bound.ID: true}}, nil
	}
	switch {
	case acc.Owner.Type == storage.OwnerMerchant && acc.Owner.ID != "":
		return &scope{merchant: acc.Owner.ID, merchants: map[string]bool{acc.Owner.ID: true}}, nil
	case acc.Owner.Type == storage.OwnerOrganization && acc.Owner.ID != "":
		return h.organizationScope(ctx, acc.Owner.ID)
	case acc.AccountID == "" && acc.Owner.Type == storage.OwnerClient:
		return &scope{all: true}, nil
	}
	return nil, errNoTenant
}

// organizationScope is the tenant of organization id: it and its merchants.
func (h *Handler) organizationScope(ctx context.Context, id string) (*scope, error) {
	ms, err := h.dir.ListMerchants(ctx)
	if err != nil {
		return nil, err
	}
	s := &scope{organization: id, merchants: map[string]bool{}}
	for _, m := range ms {
		if m.OrganizationID == id {
			s.merchants[m.ID] = true
		}
	}
	return s, nil
}

// hasMerchant reports whether merchant id is inside the tenant.
func (s *scope) hasMerchant(id string) bool { return s.all || s.merchants[id] }

// hasOrganization reports whether organization id is the tenant.
func (s *scope) hasOrganization(id string) bool { return s.all || (id != "" && s.organization == id) }

// hasMember reports whether membership m is inside the tenant.
func (s *scope) hasMember(m storage.Membership) bool {
	switch m.Type {
	case storage.OwnerMerchant:
		return s.hasMerchant(m.ID)
	case storage.OwnerOrganization:
		return s.hasOrganization(m.ID)
	}
	return s.all
}

// members are the memberships that make an account the tenant's, for the
// database to select them (storage.AccountFilter.Within); nil for the
// platform. A tenant with none sees no account, so it gets one that
// matches nothing.
func (s *scope) members() []storage.Membership {
	if s.all {
		return nil
	}
	var out []storage.Membership
	for _, id := range slices.Sorted(maps.Keys(s.merchants)) {
		out = append(out, storage.Membership{Type: storage.OwnerMerchant, ID: id})
	}
	if s.organization != "" {
		out = append(out, storage.Membership{Type: storage.OwnerOrganization, ID: s.organization})
	}
	if len(out) == 0 {
		out = []storage.Membership{{Type: storage.OwnerOrganization, ID: ""}}
	}
	return out
}

// seesMerchant reports whether the caller may read merchant m.
func (s *scope) seesMerchant(m storage.Merchant) bool { return s.hasMerchant(m.ID) }

// seesOrganization reports whether the caller may read organization o.
func (s *scope) seesOrganization(o storage.Organization) bool { return s.hasOrganization(o.ID) }

// seesAccount reports whether the caller may read account a: a guest of
// one of its merchants, or staff with a membership inside the tenant.
func (s *scope) seesAccount(a storage.Account) bool {
	if s.all {
		return true
	}
	if a.Kind == storage.Guest {
		return s.hasMerchant(a.MerchantID)
	}
	return slices.ContainsFunc(a.Memberships, s.hasMember)
}

// ownsAccount reports whether the caller may change account a: a guest
// of one of its merchants, or staff whose every membership is inside the
// tenant (and who has one).
func (s *scope) ownsAccount(a storage.Account) bool {
	if s.all {
		return true
	}
	if a.Kind == storage.Guest {
		return s.hasMerchant(a.MerchantID)
	}
	return len(a.Memberships) > 0 && !slices.ContainsFunc(a.Memberships, func(m storage.Membership) bool { return !s.hasMember(m) })
}

// seesClient reports whether the caller may read and change client c:
// one bound to a merchant of the tenant, or to the tenant's organization.
func (s *scope) seesClient(c storage.Client) bool {
	return s.all || (c.MerchantID != "" && s.merchants[c.MerchantID]) || s.hasOrganization(c.OrganizationID)
}

// errOutside is a request naming a merchant outside the caller's tenant.
var errOutside = errors.New("outside the tenant")

// auditMerchants says whose audit events the caller may list, given the
// merchant_id it asked for ("" for none): the merchant filters to query,
// one query each, "" meaning no filter. The platform lists every event
// (or the merchant it asked for); a merchant tenant only the events of
// its merchant; an organization tenant the events of each of its
// merchants (none when it has none), and those that name the organization
// (listAuditEvents). Other events that name no merchant (a staff account's,
// a signing key's) are the platform's. Asking for a merchant outside the
// tenant is errOutside (403).
func (s *scope) auditMerchants(asked string) ([]string, error) {
	switch {
	case asked != "" && !s.hasMerchant(asked):
		return nil, errOutside
	case asked != "":
		return []string{asked}, nil
	case s.all:
		return []string{""}, nil
	}
	return slices.Sorted(maps.Keys(s.merchants)), nil
}
