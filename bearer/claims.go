package bearer

import (
	"strings"
	"time"
)

// WireClaims are a token's identity claims as latchkey writes them, in
// introspection answers (RFC 7662) and JWT access tokens (RFC 9068) alike.
// latchkey embeds this type in both, so the JSON names exist only here.
type WireClaims struct {
	Subject           string `json:"sub,omitempty"`
	ClientID          string `json:"client_id,omitempty"`
	Username          string `json:"username,omitempty"`
	MerchantID        string `json:"merchant_id,omitempty"`
	OrganizationID    string `json:"organization_id,omitempty"`
	ResourceOwnerType string `json:"resource_owner_type,omitempty"`
	Scope             string `json:"scope,omitempty"` // space-delimited
	IssuedAt          int64  `json:"iat,omitempty"`   // Unix seconds
	ExpiresAt         int64  `json:"exp,omitempty"`   // Unix seconds; 0 when the token never expires
}

// Claims decodes the wire claims. Every verifier builds its Claims here, so
// a token reads the same whichever way it was checked.
func (w WireClaims) Claims() *Claims {
	c := &Claims{Subject: w.Subject, ClientID: w.ClientID, Username: w.Username, MerchantID: w.MerchantID,
		OrganizationID: w.OrganizationID, ResourceOwnerType: w.ResourceOwnerType, Scopes: strings.Fields(w.Scope)}
	if w.IssuedAt > 0 {
		c.IssuedAt = time.Unix(w.IssuedAt, 0)
	}
	if w.ExpiresAt > 0 {
		c.ExpiresAt = time.Unix(w.ExpiresAt, 0)
	}
	return c
}
