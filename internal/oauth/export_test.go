package oauth

// FillPasswordPool takes every place in s's password pool, as a flood of
// logins would, until release is called.
func (s *Server) FillPasswordPool() (release func()) {
	n := cap(s.pool.tickets) - len(s.pool.tickets)
	for range n {
		s.pool.tickets <- struct{}{}
	}
	return func() {
		for range n {
			<-s.pool.tickets
		}
	}
}
