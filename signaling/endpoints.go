package signaling

// Presence for the groups API (issue #12): which registered endpoints are
// in a call now, and how many are in a room's call.

// ConnectedEndpoints returns the IDs of the registered endpoints (from
// their join tokens) that are in a call now, including those whose
// connection dropped and whose place is kept for them to resume, and of
// those with a presence connection (directory.go): the endpoints online.
func (s *Server) ConnectedEndpoints() map[string]bool {
	out := s.dir.connected()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.parts {
		if p.endpoint != "" && !p.gone.Load() {
			out[p.endpoint] = true
		}
	}
	return out
}

// CallSize reports how many participants are in the room's call now (0
// with no call).
func (s *Server) CallSize(roomID string) int {
	s.mu.Lock()
	c := s.calls[roomID]
	s.mu.Unlock()
	if c == nil {
		return 0
	}
	return c.call.Size()
}
