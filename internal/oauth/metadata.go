package oauth

// Metadata is the RFC 8414 authorization server metadata.
type Metadata struct {
	Issuer                           string   `json:"issuer"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported    []string `json:"code_challenge_methods_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	ServiceDocumentation             string   `json:"service_documentation,omitempty"`
}

// Metadata lists what this server really supports.
func (s *Server) Metadata() Metadata {
	confidential := []string{string(AuthBasic), string(AuthPost)}
	return Metadata{
		Issuer:                           s.issuer,
		TokenEndpoint:                    s.issuer + "/oauth2/token",
		IntrospectionEndpoint:            s.issuer + "/oauth2/introspect",
		RevocationEndpoint:               s.issuer + "/oauth2/revoke",
		GrantTypesSupported:              GrantTypes,
		TokenEndpointAuthMethods:         []string{string(AuthBasic), string(AuthPost), string(AuthNone)},
		IntrospectionEndpointAuthMethods: confidential,
		RevocationEndpointAuthMethods:    []string{string(AuthBasic), string(AuthPost), string(AuthNone)},
		CodeChallengeMethodsSupported:    []string{"S256", "plain"},
		// The authorization endpoint arrives with the browser flows; until
		// then codes come only from the storage layer.
		ResponseTypesSupported: []string{},
	}
}
