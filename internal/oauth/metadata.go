package oauth

// Metadata is the RFC 8414 authorization server metadata.
type Metadata struct {
	Issuer                           string   `json:"issuer"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported    []string `json:"code_challenge_methods_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	ResponseModesSupported           []string `json:"response_modes_supported"`
	IssParameterSupported            bool     `json:"authorization_response_iss_parameter_supported"`
	UILocalesSupported               []string `json:"ui_locales_supported"`
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
		GrantTypesSupported:              GrantTypes,
		TokenEndpointAuthMethods:         []string{string(AuthBasic), string(AuthPost), string(AuthNone)},
		IntrospectionEndpointAuthMethods: confidential,
		RevocationEndpointAuthMethods:    []string{string(AuthBasic), string(AuthPost), string(AuthNone)},
		CodeChallengeMethodsSupported:    []string{"S256", "plain"},
		ResponseTypesSupported:           []string{"code"},
		ResponseModesSupported:           []string{"query"},
		IssParameterSupported:            true,
		UILocalesSupported:               []string{"en", "fr"},
	}
}
