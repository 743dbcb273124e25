package storage

import "github.com/bluesky-social/indigo/atproto/syntax"

// LoadedIndexVersion reports the version (coherence.go) the loaded index
// of did is current with; ok is false when none is loaded. For the
// external tests of this package only.
func (s *Store) LoadedIndexVersion(did syntax.DID) (version int64, ok bool) {
	idx := s.loadedIndex(did)
	if idx == nil {
		return 0, false
	}
	return idx.version.Load(), true
}

// QueuedPushes reports how many pushes of did wait for an applyWrites
// (pushbatch.go).
func (s *Store) QueuedPushes(did syntax.DID) int {
	s.pushes.mu.Lock()
	defer s.pushes.mu.Unlock()
	if q := s.pushes.queues[did]; q != nil {
		return len(q.waiting)
	}
	return 0
}
