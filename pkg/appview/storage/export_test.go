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
