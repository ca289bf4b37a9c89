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

// macState is a keyed state and a scratch buffer. The parts of a message
// are copied into the buffer and written once: a slice handed to the
// hash.Hash interface escapes, and every caller's stack buffer with it.
type macState struct {
	h   hash.Hash
	buf []byte
	mac [sha256.Size]byte
}

func newMacer(key []byte) *macer {
	m := &macer{}
	m.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)}
	}
	return m
}

// sum appends the MAC of the concatenated parts to out.
func (m *macer) sum(out []byte, parts ...[]byte) []byte {
	st := m.pool.Get().(*macState)
	st.buf = st.buf[:0]
	for _, p := range parts {
		st.buf = append(st.buf, p...)
	}
	st.h.Reset()
	st.h.Write(st.buf)
	out = append(out, st.h.Sum(st.mac[:0])...)
	if cap(st.buf) > 4<<10 {
		st.buf = make([]byte, 0, 128) // keep no large message alive in the pool
	}
	m.pool.Put(st)
	return out
}
