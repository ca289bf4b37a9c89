package oauth

import (
	"context"
	"sync"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// ClientCacheTTL is how long a loaded client is reused. Every token request
// authenticates its client, and reading it from the database was the
// largest cost of the token endpoint after the write itself; a changed or
// deleted client (a rotated secret) takes effect on every node within this time.
const ClientCacheTTL = 5 * time.Second

// maxCachedClients bounds the cache; clients are few, but ids come from callers.
const maxCachedClients = 4096

type clientCache struct {
	mu sync.Mutex
	m  map[string]cachedClient
}

type cachedClient struct {
	c     storage.Client
	until time.Time
}

// client loads a client through the cache. Unknown ids are not cached, so
// a flood of made-up ids cannot push real clients out.
func (s *Server) client(ctx context.Context, id string) (storage.Client, error) {
	now := s.now()
	s.clients.mu.Lock()
	e, ok := s.clients.m[id]
	s.clients.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.c, nil
	}
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return c, err
	}
	s.clients.mu.Lock()
	if s.clients.m == nil || len(s.clients.m) >= maxCachedClients {
		s.clients.m = map[string]cachedClient{}
	}
	s.clients.m[id] = cachedClient{c: c, until: now.Add(ClientCacheTTL)}
	s.clients.mu.Unlock()
	return c, nil
}
