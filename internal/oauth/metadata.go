package oauth

// Metadata is the server's metadata: RFC 8414's authorization server
// metadata and OpenID Connect Discovery 1.0's provider metadata in one
// document. latchkey serves the same document at both well-known paths, so
// the two cannot disagree on a field they share.
type Metadata struct {
	Issuer                           string   `json:"issuer"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	DeviceAuthorizationEndpoint      string   `json:"device_authorization_endpoint"`
	UserinfoEndpoint                 string   `json:"userinfo_endpoint"`
	EndSessionEndpoint               string   `json:"end_session_endpoint"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported    []string `json:"code_challenge_methods_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	ResponseModesSupported           []string `json:"response_modes_supported"`
	IssParameterSupported            bool     `json:"authorization_response_iss_parameter_supported"`
	UILocalesSupported               []string `json:"ui_locales_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgs               []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	PromptValuesSupported            []string `json:"prompt_values_supported"`
	ACRValuesSupported               []string `json:"acr_values_supported"`
	// OpenID Connect Discovery defaults request_uri_parameter_supported to
	// true, so the ones latchkey does not support are said false.
	ClaimsParameterSupported     bool `json:"claims_parameter_supported"`
	RequestParameterSupported    bool `json:"request_parameter_supported"`
	RequestURIParameterSupported bool `json:"request_uri_parameter_supported"`
}

// Metadata lists what this server really supports.
func (s *Server) Metadata() Metadata {
	confidential := []string{string(AuthBasic), string(AuthPost)}
	return Metadata{
		Issuer:                           s.issuer,
		AuthorizationEndpoint:            s.issuer + "/oauth2/authorize",
		JWKSURI:                          s.issuer + "/.well-known/jwks.json",
		TokenEndpoint:                    s.issuer + "/oauth2/token",
		IntrospectionEndpoint:            s.issuer + "/oauth2/introspect",
		RevocationEndpoint:               s.issuer + "/oauth2/revoke",
		DeviceAuthorizationEndpoint:      s.issuer + "/oauth2/device_authorization",
		UserinfoEndpoint:                 s.issuer + "/oauth2/userinfo",
		EndSessionEndpoint:               s.issuer + EndSessionPath,
		GrantTypesSupported:              GrantTypes,
		TokenEndpointAuthMethods:         []string{string(AuthBasic), string(AuthPost), string(AuthNone)},
		IntrospectionEndpointAuthMethods: confidential,
		RevocationEndpointAuthMethods:    []string{string(AuthBasic), string(AuthPost), string(AuthNone)},
		CodeChallengeMethodsSupported:    []string{"S256", "plain"},
		ResponseTypesSupported:           []string{"code"},
		ResponseModesSupported:           []string{"query"},
		IssParameterSupported:            true,
		UILocalesSupported:               []string{"en", "fr"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgs:               IDTokenAlgs,
		ClaimsSupported: []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr",
			"preferred_username", "name", "email", "email_verified", "merchant_id", "organization_id", "resource_owner_type"},
		PromptValuesSupported: []string{promptNone, promptLogin, promptConsent, promptAccount},
		ACRValuesSupported:    []string{ACRPassword},
	}
}

// EndSessionPath is where RP-initiated logout is served (by the pages).
const EndSessionPath = "/oauth2/logout"
