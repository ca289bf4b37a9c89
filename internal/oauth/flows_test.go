package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func clientCtx(e *env) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
}

func TestClientCredentialsWithOAuth2Client(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cfg := clientcredentials.Config{ClientID: confID, ClientSecret: confSecret, TokenURL: e.srv.URL + "/oauth2/token",
				Scopes: []string{"user_write"}, AuthStyle: style}
			tok, err := cfg.Token(clientCtx(e))
			if err != nil {
				t.Fatalf("auth style %v: %v", style, err)
			}
			if !strings.HasPrefix(tok.AccessToken, "lk_at_") || tok.RefreshToken != "" || tok.Extra("scope") != "user_write" {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			in := e.introspect(tok.AccessToken)
			if in["active"] != true || in["client_id"] != confID || in["resource_owner_type"] != "client" || in["sub"] != confID {
				t.Fatalf("introspection %v", in)
			}
		}
		// A bound client's token acts for its merchant.
		cfg := clientcredentials.Config{ClientID: guestApp, ClientSecret: guestSec, TokenURL: e.srv.URL + "/oauth2/token"}
		tok, err := cfg.Token(clientCtx(e))
		if err != nil {
			t.Fatal(err)
		}
		if in := e.introspect(tok.AccessToken); in["merchant_id"] != merchantID || in["resource_owner_type"] != "merchant" || in["scope"] != "user_read" {
			t.Fatalf("bound client introspection %v", in)
		}
	})
}

func TestPasswordAndRefreshWithOAuth2Client(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		cfg := oauth2.Config{ClientID: guestApp, ClientSecret: guestSec, Scopes: []string{"user_read", "user_write"},
			Endpoint: oauth2.Endpoint{TokenURL: e.srv.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
		ctx := clientCtx(e)
		tok, err := cfg.PasswordCredentialsToken(ctx, "JohnDoe", guestPass)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.RefreshToken, "lk_rt_") || tok.Expiry.IsZero() {
			t.Fatalf("password grant token %+v", tok)
		}
		in := e.introspect(tok.AccessToken)
		if in["username"] != guestUser || in["merchant_id"] != merchantID || in["resource_owner_type"] != "guest" || in["sub"] != "acc-john" {
			t.Fatalf("introspection %v", in)
		}
		// Expire the token locally so the TokenSource refreshes it.
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatal(err)
		}
		if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
			t.Fatal("refresh did not rotate the tokens")
		}
		if e.active(tok.RefreshToken) || !e.active(fresh.RefreshToken) || !e.active(fresh.AccessToken) {
			t.Fatal("old refresh token still active or new tokens inactive")
		}
	})
}

func TestAuthorizationCodeExchangeWithPKCE(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		verifier := oauth2.GenerateVerifier()
		code := e.code(publicApp, oauth2.S256ChallengeFromVerifier(verifier), "S256")
		cfg := oauth2.Config{ClientID: publicApp, RedirectURL: redirectURI,
			Endpoint: oauth2.Endpoint{TokenURL: e.srv.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
		ctx := clientCtx(e)
		// The wrong verifier fails, and uses its code up (TestFailedRedemptionUsesCodeUp), so it gets a code of its own.
		spoiled := e.code(publicApp, oauth2.S256ChallengeFromVerifier(verifier), "S256")
		if _, err := cfg.Exchange(ctx, spoiled, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
			t.Fatal("exchange with the wrong verifier succeeded")
		}
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tok.Extra("scope") != "user_read user_write" || tok.RefreshToken == "" {
			t.Fatalf("token %+v", tok)
		}
		// A second exchange of the same code fails and revokes what the first issued.
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
			t.Fatal("code exchanged twice")
		}
		if e.active(tok.AccessToken) || e.active(tok.RefreshToken) {
			t.Fatal("tokens of a replayed code are still active")
		}
	})
}

func TestNonRotatingNeverExpiring(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		status, _, m := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {guestUser},
			"password": {guestPass}}, norotApp, norotSec)
		if status != http.StatusOK {
			t.Fatalf("password grant: %d %v", status, m)
		}
		if _, has := m["expires_in"]; has {
			t.Fatalf("never-expiring token carries expires_in: %v", m)
		}
		rt := m["refresh_token"].(string)
		status, _, m = e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, norotApp, norotSec)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, m)
		}
		if _, has := m["refresh_token"]; has {
			t.Fatalf("non-rotating refresh returned a refresh token: %v", m)
		}
		if !e.active(rt) || !e.active(m["access_token"].(string)) {
			t.Fatal("the kept refresh token or the new access token is not active")
		}
	})
}

func TestTokenResponseHeadersAndJSONBody(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth2/token",
			strings.NewReader(`{"grant_type":"client_credentials","client_id":"conf","client_secret":"conf-secret-value"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", "req-123")
		status, h, m := e.do(req)
		if status != http.StatusOK || m["token_type"] != "Bearer" || m["expires_in"] != float64(1800) {
			t.Fatalf("JSON body: %d %v", status, m)
		}
		if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || h.Get("X-Request-Id") != "req-123" {
			t.Fatalf("headers %v", h)
		}
	})
}

func TestMetadata(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/.well-known/oauth-authorization-server", nil)
		status, _, m := e.do(req)
		if status != http.StatusOK || m["issuer"] != e.srv.URL || m["token_endpoint"] != e.srv.URL+"/oauth2/token" {
			t.Fatalf("metadata %d %v", status, m)
		}
		grants, _ := m["grant_types_supported"].([]any)
		if len(grants) != 5 || grants[4] != "urn:ietf:params:oauth:grant-type:device_code" || m["device_authorization_endpoint"] != e.srv.URL+"/oauth2/device_authorization" {
			t.Fatalf("grant types %v, device endpoint %v", grants, m["device_authorization_endpoint"])
		}
	})
}
