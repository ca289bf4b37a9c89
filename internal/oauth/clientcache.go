package oauth

import (
	"context"
	"sync"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// ClientCacheTTL is how long a loaded client or merchant is reused. Every
// token request authenticates its client, and reading it from the database
// was the largest cost of the token endpoint after the write itself;
// introspection reads a token's merchant. A changed or deleted client (a
// rotated secret) or merchant takes effect on every node within this time.
const ClientCacheTTL = 5 * time.Second

// maxCached bounds each cache; clients and merchants are few, but ids come from callers.
const maxCached = 4096

// ttlCache keeps recently loaded directory records by id. Unknown ids are
// not cached, so a flood of made-up ids cannot push real entries out.
type ttlCache[T any] struct {
	mu sync.Mutex
	m  map[string]cached[T]
}

type cached[T any] struct {
	v     T
	until time.Time
}

func (c *ttlCache[T]) get(ctx context.Context, id string, now time.Time, load func(context.Context, string) (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.v, nil
	}
	v, err := load(ctx, id)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]cached[T]{}
	}
	c.m[id] = cached[T]{v: v, until: now.Add(ClientCacheTTL)}
	c.mu.Unlock()
	return v, nil
}

// client loads a client through the cache.
func (s *Server) client(ctx context.Context, id string) (storage.Client, error) {
	return s.clients.get(ctx, id, s.now(), s.store.GetClient)
}

// merchant loads a merchant through the cache.
func (s *Server) merchant(ctx context.Context, id string) (storage.Merchant, error) {
	return s.merchants.get(ctx, id, s.now(), s.store.GetMerchant)
}
