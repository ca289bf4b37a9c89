// Package api holds the OpenAPI document of latchkey's admin API, the
// single source its handlers are tested against.
package api

import _ "embed"

// OpenAPIYAML is openapi.yaml: the admin API's OpenAPI 3.1 document.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
