package sqlstore

import "sync"

// workers is the close protocol of a queue that goroutines serve (the
// group commit, the coalesced reads): a sender holds mu for reading while
// it sends, so close, which takes it for writing, knows nothing more will
// be queued once it has it; the workers then see quit, answer what is
// left and return, and close waits for them.
type workers struct {
	mu     sync.RWMutex
	closed bool
	quit   chan struct{}
	wg     sync.WaitGroup
}

// start runs n goroutines of work (at least one).
func (w *workers) start(n int, work func()) {
	w.quit = make(chan struct{})
	for range max(n, 1) {
		w.wg.Go(work)
	}
}

// enter reports whether the queue still takes work. When it does, the
// caller sends and then calls leave.
func (w *workers) enter() bool {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return false
	}
	return true
}

func (w *workers) leave() { w.mu.RUnlock() }

// stop stops taking work and waits until the workers have returned.
func (w *workers) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.quit)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
