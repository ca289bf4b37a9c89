package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

const (
	oidcApp, oidcSecret = "oidc-app", "oidc-app-secret"
	oidcES, oidcESecret = "oidc-es-app", "oidc-es-app-secret"
	staffID, staffUser  = "acc_staff", "owner@shop.example"
	postLogoutURI       = "https://app.example/signed-out"
)

// oidcClients registers two OpenID Connect clients (RS256, the default, and
// ES256) and a staff account whose username is an e-mail address.
func oidcClients(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct{ id, secret, alg string }{{oidcApp, oidcSecret, ""}, {oidcES, oidcESecret, "ES256"}} {
		err := e.store.CreateClient(ctx, storage.Client{ID: c.id, Name: c.id, SecretHash: e.keys.HashClientSecret(c.secret),
			GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantPassword},
			Scopes:     []string{"openid", "profile", "email", "user_read"}, DefaultScopes: []string{"user_read"},
			RedirectURIs: []string{redirectURI}, AccessTokenTTL: 30 * time.Minute, RefreshTokenTTL: 24 * time.Hour,
			AccountKind: storage.Staff, RotateRefresh: true, IDTokenAlg: c.alg, PostLogoutRedirectURIs: []string{postLogoutURI}})
		if err != nil {
			t.Fatal(err)
		}
	}
	hash, err := secrets.HashPassword("staff-pass", fastArgon2)
	if err != nil {
		t.Fatal(err)
	}
	err = e.store.CreateAccount(ctx, storage.Account{ID: staffID, Kind: storage.Staff, Username: staffUser, PasswordHash: hash,
		Memberships: []storage.Membership{{Type: storage.OwnerMerchant, ID: merchantID}}})
	if err != nil {
		t.Fatal(err)
	}
}

// oidcCode stores a code of the staff account for client with scopes and nonce.
func oidcCode(t *testing.T, e *env, client string, scopes []string, nonce string, authTime time.Time) string {
	t.Helper()
	value, id := e.keys.NewToken(secrets.AuthCodeKind)
	now := e.clock.Now()
	err := e.store.CreateAuthCode(context.Background(), storage.AuthCode{ID: id, ClientID: client, AccountID: staffID,
		Owner: storage.ResourceOwner{Type: storage.OwnerMerchant, ID: merchantID}, Scopes: scopes, RedirectURI: redirectURI,
		Nonce: nonce, AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return value
}

// idTokenClaims are the claims the tests read from a verified ID token.
type idTokenClaims struct {
	Azp               string   `json:"azp"`
	AuthTime          int64    `json:"auth_time"`
	Nonce             string   `json:"nonce"`
	ACR               string   `json:"acr"`
	AMR               []string `json:"amr"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	EmailVerified     *bool    `json:"email_verified"`
	MerchantID        string   `json:"merchant_id"`
	ResourceOwnerType string   `json:"resource_owner_type"`
}

// verifier is go-oidc's verifier for client, over the server's discovery
// document and JWKS, on the test clock.
func verifier(t *testing.T, e *env, client string) *oidc.IDTokenVerifier {
	t.Helper()
	provider, err := oidc.NewProvider(clientCtx(e), e.srv.URL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	return provider.Verifier(&oidc.Config{ClientID: client, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}, Now: e.clock.Now})
}

// TestIDTokenOnCodeFlow: go-oidc verifies the ID tokens of both algorithms
// against the published keys, with nonce, at_hash, auth_time, azp, acr,
// amr and the claims of the scopes granted.
func TestIDTokenOnCodeFlow(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		oidcClients(t, e)
		for _, c := range []struct{ id, secret, alg string }{{oidcApp, oidcSecret, "RS256"}, {oidcES, oidcESecret, "ES256"}} {
			authTime := e.clock.Now().Add(-time.Minute).Truncate(time.Second)
			code := oidcCode(t, e, c.id, []string{"openid", "profile", "email"}, "n-0S6_WzA2Mj", authTime)
			status, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {redirectURI}}, c.id, c.secret)
			raw, _ := body["id_token"].(string)
			if status != http.StatusOK || raw == "" {
				t.Fatalf("%s: token response %d %v has no id_token", c.id, status, body)
			}
			tok, err := verifier(t, e, c.id).Verify(clientCtx(e), raw)
			if err != nil {
				t.Fatalf("%s: go-oidc refused the ID token: %v", c.id, err)
			}
			if alg := jwsAlg(t, raw); alg != c.alg {
				t.Errorf("%s: ID token signed with %s, want %s", c.id, alg, c.alg)
			}
			if err := tok.VerifyAccessToken(body["access_token"].(string)); err != nil {
				t.Errorf("%s: at_hash: %v", c.id, err)
			}
			var cl idTokenClaims
			if err := tok.Claims(&cl); err != nil {
				t.Fatal(err)
			}
			if tok.Subject != staffID || tok.Nonce != "n-0S6_WzA2Mj" || cl.Azp != c.id || cl.AuthTime != authTime.Unix() ||
				cl.ACR != oauth.ACRPassword || !slices.Equal(cl.AMR, []string{"pwd"}) {
				t.Errorf("%s: sub %q nonce %q claims %+v", c.id, tok.Subject, tok.Nonce, cl)
			}
			if cl.PreferredUsername != staffUser || cl.Email != staffUser || cl.EmailVerified == nil || *cl.EmailVerified ||
				cl.MerchantID != merchantID || cl.ResourceOwnerType != "merchant" {
				t.Errorf("%s: person and tenant claims %+v", c.id, cl)
			}
		}
	})
}

// TestNoIDTokenWithoutOpenID: a request without openid gets no ID token, and
// openid without profile or email gets no claims about the person but the
// subject and the tenant.
func TestNoIDTokenWithoutOpenID(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		oidcClients(t, e)
		code := oidcCode(t, e, oidcApp, []string{"user_read"}, "", e.clock.Now())
		status, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, oidcApp, oidcSecret)
		if _, has := body["id_token"]; status != http.StatusOK || has {
			t.Fatalf("without openid: %d %v", status, body)
		}
		code = oidcCode(t, e, oidcApp, []string{"openid"}, "", e.clock.Now())
		_, _, body = e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, oidcApp, oidcSecret)
		tok, err := verifier(t, e, oidcApp).Verify(clientCtx(e), body["id_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var cl idTokenClaims
		tok.Claims(&cl)
		if cl.PreferredUsername != "" || cl.Email != "" || cl.MerchantID != merchantID {
			t.Errorf("openid alone: claims %+v", cl)
		}
	})
}

// TestIDTokenOnRefreshAndPassword: a refresh of an openid grant returns a
// new ID token for the same subject, without nonce; the password grant
// with openid returns one with auth_time.
func TestIDTokenOnRefreshAndPassword(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		oidcClients(t, e)
		code := oidcCode(t, e, oidcApp, []string{"openid", "profile"}, "nonce-1", e.clock.Now())
		_, _, first := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, oidcApp, oidcSecret)
		status, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {first["refresh_token"].(string)}}, oidcApp, oidcSecret)
		raw, _ := body["id_token"].(string)
		if status != http.StatusOK || raw == "" {
			t.Fatalf("refresh: %d %v", status, body)
		}
		tok, err := verifier(t, e, oidcApp).Verify(clientCtx(e), raw)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Subject != staffID || tok.Nonce != "" || tok.VerifyAccessToken(body["access_token"].(string)) != nil {
			t.Errorf("refreshed ID token: sub %q nonce %q", tok.Subject, tok.Nonce)
		}
		// Narrowing away openid ends the ID tokens.
		_, _, body = e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "scope": {"profile"},
			"refresh_token": {body["refresh_token"].(string)}}, oidcApp, oidcSecret)
		if _, has := body["id_token"]; has {
			t.Errorf("a refresh narrowed to profile got an ID token")
		}

		status, _, body = e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {staffUser},
			"password": {"staff-pass"}, "scope": {"openid"}}, oidcApp, oidcSecret)
		if status != http.StatusOK {
			t.Fatalf("password grant: %d %v", status, body)
		}
		tok, err = verifier(t, e, oidcApp).Verify(clientCtx(e), body["id_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var cl idTokenClaims
		tok.Claims(&cl)
		if tok.Subject != staffID || cl.AuthTime != e.clock.Now().Unix() {
			t.Errorf("password grant ID token: sub %q auth_time %d", tok.Subject, cl.AuthTime)
		}
	})
}

// TestUserinfo: the access token of an openid grant reads userinfo by GET
// and by POST (header or form field); without openid it is 403
// insufficient_scope, a bad token 401, a client's own token 403, each with
// the Bearer challenge.
func TestUserinfo(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		oidcClients(t, e)
		token := func(scopes ...string) string {
			code := oidcCode(t, e, oidcApp, scopes, "", e.clock.Now())
			_, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {redirectURI}}, oidcApp, oidcSecret)
			return body["access_token"].(string)
		}
		call := func(method, tok string, inForm bool) (int, http.Header, map[string]any) {
			var req *http.Request
			if inForm {
				req, _ = http.NewRequest(method, e.srv.URL+"/oauth2/userinfo", strings.NewReader(url.Values{"access_token": {tok}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req, _ = http.NewRequest(method, e.srv.URL+"/oauth2/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			return e.do(req)
		}
		full := token("openid", "profile", "email")
		for _, c := range []struct {
			method string
			form   bool
		}{{http.MethodGet, false}, {http.MethodPost, false}, {http.MethodPost, true}} {
			status, h, body := call(c.method, full, c.form)
			if status != http.StatusOK || body["sub"] != staffID || body["preferred_username"] != staffUser ||
				body["email"] != staffUser || body["merchant_id"] != merchantID || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s (form %v): %d %v", c.method, c.form, status, body)
			}
		}
		if _, _, body := call(http.MethodGet, token("openid"), false); body["preferred_username"] != nil || body["sub"] != staffID {
			t.Errorf("openid alone: %v", body)
		}
		_, _, cc := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, confID, confSecret)
		for _, c := range []struct {
			name, token string
			status      int
			code        string
		}{
			{"no openid", token("user_read"), http.StatusForbidden, "insufficient_scope"},
			{"unknown token", "lk_at_garbage", http.StatusUnauthorized, "invalid_token"},
			{"client token", cc["access_token"].(string), http.StatusForbidden, "insufficient_scope"},
		} {
			status, h, body := call(http.MethodGet, c.token, false)
			if status != c.status || body["error"] != c.code || !strings.Contains(h.Get("WWW-Authenticate"), `error="`+c.code+`"`) {
				t.Errorf("%s: %d %v %q", c.name, status, body, h.Get("WWW-Authenticate"))
			}
		}
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/oauth2/userinfo", nil)
		if status, h, _ := e.do(req); status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("no token: %d %v", status, h)
		}
	})
}

// TestDiscoveryDocumentsAgree: both well-known documents carry the same
// value for every field, and list the OpenID Connect endpoints and algorithms.
func TestDiscoveryDocumentsAgree(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		get := func(path string) map[string]any {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
			status, _, m := e.do(req)
			if status != http.StatusOK {
				t.Fatalf("%s: %d", path, status)
			}
			return m
		}
		oidcDoc, oauthDoc := get("/.well-known/openid-configuration"), get("/.well-known/oauth-authorization-server")
		for k, v := range oauthDoc {
			if a, b := jsonOf(v), jsonOf(oidcDoc[k]); a != b {
				t.Errorf("%s: RFC 8414 says %s, OpenID discovery %s", k, a, b)
			}
		}
		for _, k := range []string{"userinfo_endpoint", "end_session_endpoint", "jwks_uri", "subject_types_supported"} {
			if oidcDoc[k] == nil {
				t.Errorf("discovery lacks %s", k)
			}
		}
		if a := jsonOf(oidcDoc["id_token_signing_alg_values_supported"]); a != `["RS256","ES256"]` {
			t.Errorf("id_token_signing_alg_values_supported = %s", a)
		}
		if oidcDoc["request_uri_parameter_supported"] != false {
			t.Errorf("request_uri_parameter_supported must be said false (its default is true)")
		}
	})
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// jwsAlg reads the alg header of a compact JWS.
func jwsAlg(t *testing.T, raw string) string {
	t.Helper()
	head, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Alg string }
	json.Unmarshal(head, &h)
	return h.Alg
}

// TestIDTokenHint: an ID token this server issued is a valid hint even
// once expired; an access token JWT and a forged token are not.
func TestIDTokenHint(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		oidcClients(t, e)
		code := oidcCode(t, e, oidcApp, []string{"openid"}, "", e.clock.Now())
		_, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, oidcApp, oidcSecret)
		idToken := body["id_token"].(string)
		e.clock.Add(2 * oauth.IDTokenTTL)
		ctx := context.Background()
		hint, err := e.core.VerifyIDTokenHint(ctx, idToken)
		if err != nil || hint.Subject != staffID || hint.ClientID != oidcApp {
			t.Fatalf("expired ID token as hint: %+v %v", hint, err)
		}
		_, _, jwtBody := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, jwtApp, jwtSecret)
		parts := strings.Split(idToken, ".")
		sum := sha256.Sum256([]byte("forged"))
		for name, bad := range map[string]string{
			"access token JWT": jwtBody["access_token"].(string),
			"forged signature": parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sum[:]),
			"garbage":          "not-a-token",
		} {
			if _, err := e.core.VerifyIDTokenHint(ctx, bad); err == nil {
				t.Errorf("%s accepted as id_token_hint", name)
			}
		}
	})
}

// TestOpenIDAuthorizeParams: max_age must be a number, request objects are
// refused with OpenID Connect's codes, other response modes are refused.
func TestOpenIDAuthorizeParams(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		oidcClients(t, e)
		base := url.Values{"client_id": {oidcApp}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"}}
		for _, c := range []struct{ param, value, code string }{
			{"max_age", "soon", "invalid_request"},
			{"max_age", "-1", "invalid_request"},
			{"request", "eyJ.x.y", "request_not_supported"},
			{"request_uri", "https://rp.example/r", "request_uri_not_supported"},
			{"response_mode", "form_post", "invalid_request"},
			{"id_token_hint", "not-a-token", "invalid_request"},
		} {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			q.Set(c.param, c.value)
			_, aerr := e.core.ParseAuthorize(context.Background(), q, oauth.AuthorizeProfile{})
			if aerr == nil || !aerr.Redirect || aerr.Code != c.code {
				t.Errorf("%s=%s: %+v, want a redirected %s", c.param, c.value, aerr, c.code)
			}
		}
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set("max_age", "0")
		req, aerr := e.core.ParseAuthorize(context.Background(), q, oauth.AuthorizeProfile{})
		if aerr != nil || !req.SignInTooOld(e.clock.Now().Add(-time.Second), e.clock.Now()) {
			t.Errorf("max_age=0 must ask for a new sign-in: %+v", aerr)
		}
	})
}

// TestEndSession: a post_logout_redirect_uri is followed only when it is
// registered exactly for the named client; state comes back with it.
func TestEndSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		oidcClients(t, e)
		ctx := context.Background()
		es, oerr := e.core.ParseEndSession(ctx, url.Values{"client_id": {oidcApp}, "post_logout_redirect_uri": {postLogoutURI}, "state": {"x y"}})
		if oerr != nil || es.RedirectURI != postLogoutURI+"?state=x+y" {
			t.Fatalf("registered URI: %+v %v", es, oerr)
		}
		for name, q := range map[string]url.Values{
			"unregistered URI":  {"client_id": {oidcApp}, "post_logout_redirect_uri": {postLogoutURI + "/x"}},
			"another client's":  {"client_id": {oidcES + "-none"}, "post_logout_redirect_uri": {postLogoutURI}},
			"no client named":   {"post_logout_redirect_uri": {postLogoutURI}},
			"repeated argument": {"client_id": {oidcApp, oidcES}},
		} {
			if _, oerr := e.core.ParseEndSession(ctx, q); oerr == nil || oerr.Status != http.StatusBadRequest {
				t.Errorf("%s: %v, want 400", name, oerr)
			}
		}
		code := oidcCode(t, e, oidcApp, []string{"openid"}, "", e.clock.Now())
		_, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}}, oidcApp, oidcSecret)
		hint := body["id_token"].(string)
		es, oerr = e.core.ParseEndSession(ctx, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogoutURI}})
		if oerr != nil || es.Hint.Subject != staffID || es.ClientID != oidcApp || es.RedirectURI != postLogoutURI {
			t.Errorf("hint names the client: %+v %v", es, oerr)
		}
		if _, oerr := e.core.ParseEndSession(ctx, url.Values{"id_token_hint": {hint}, "client_id": {oidcES}}); oerr == nil {
			t.Errorf("a client_id other than the hint's audience was accepted")
		}
	})
}
