package oauth

import (
	"context"
	"errors"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// MerchantLogin asks, with a bearer token, which merchant the token's client
// acts for, and optionally checks the credentials of one of that
// merchant's users (Flexiti's merchants/login).
type MerchantLogin struct {
	Token      string   // the bearer access token
	ClientID   string   // the client the call names; it must be the token's
	AnyScope   []string // the token needs one of these; any token when empty
	Username   string   // a merchant user to authenticate, optional
	Password   string   // that user's password
	RemoteAddr string   // the caller's address, for throttling
}

// MerchantLoginResult is the merchant the client acts for and, when
// credentials were given, the user they belong to.
type MerchantLoginResult struct {
	Merchant storage.Merchant
	Account  *storage.Account
}

// LoginMerchant checks the token, its binding to the named client and its
// scopes, then the optional merchant user's credentials (throttled and
// answered like any password login), and returns the client's merchant.
func (s *Server) LoginMerchant(ctx context.Context, req MerchantLogin) (MerchantLoginResult, *Error) {
	access, oerr := s.CheckAccess(ctx, req.Token)
	if oerr != nil {
		return MerchantLoginResult{}, oerr
	}
	if access.ClientID != req.ClientID {
		return MerchantLoginResult{}, InvalidToken("the access token was issued to another client")
	}
	if len(req.AnyScope) > 0 && !access.HasAnyScope(req.AnyScope...) {
		return MerchantLoginResult{}, InsufficientScope(req.AnyScope...)
	}
	client, err := s.client(ctx, access.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return MerchantLoginResult{}, InvalidToken("the client of this access token no longer exists")
	case err != nil:
		return MerchantLoginResult{}, s.unavailable(ctx, "load client of merchant login", err)
	case client.MerchantID == "":
		return MerchantLoginResult{}, InvalidRequest("this client is bound to no merchant")
	}
	var res MerchantLoginResult
	if req.Username != "" || req.Password != "" {
		if req.Username == "" {
			return MerchantLoginResult{}, InvalidRequest("merchant_username is missing").For("merchant_username")
		}
		if req.Password == "" {
			return MerchantLoginResult{}, InvalidRequest("merchant_password is missing").For("merchant_password")
		}
		a, oerr := s.Login(ctx, client, req.Username, req.Password, req.RemoteAddr)
		if oerr != nil {
			return MerchantLoginResult{}, oerr
		}
		res.Account = &a
	}
	m, err := s.merchant(ctx, client.MerchantID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return MerchantLoginResult{}, InvalidRequest("the merchant of this client no longer exists")
	case err != nil:
		return MerchantLoginResult{}, s.unavailable(ctx, "load merchant of merchant login", err)
	}
	res.Merchant = m
	return res, nil
}
