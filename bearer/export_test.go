package bearer

import (
	"net/http"
	"time"
)

// SetClock replaces the clock of an Introspector or JWTVerifier, for tests.
func SetClock(v Verifier, now func() time.Time) {
	switch v := v.(type) {
	case *Introspector:
		v.now = now
	case *JWTVerifier:
		v.now = now
	}
}

// CacheLen is how many answers an Introspector holds, for tests.
func CacheLen(i *Introspector) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.cache)
}

// SetHTTPClient replaces the HTTP client a JWTVerifier fetches keys with, for tests.
func SetHTTPClient(v *JWTVerifier, c *http.Client) { v.client = c }
