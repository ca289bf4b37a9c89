package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// macer computes HMAC-SHA256 under one key, reusing keyed states: hmac.New
// costs several allocations, and every token request needs two or three MACs.
type macer struct{ pool sync.Pool }

func newMacer(key []byte) *macer {
	m := &macer{}
	m.pool.New = func() any { return hmac.New(sha256.New, key) }
	return m
}

// sum appends the MAC of the concatenated parts to out.
func (m *macer) sum(out []byte, parts ...[]byte) []byte {
	h := m.pool.Get().(hash.Hash)
	h.Reset()
	for _, p := range parts {
		h.Write(p)
	}
	out = h.Sum(out)
	m.pool.Put(h)
	return out
}
