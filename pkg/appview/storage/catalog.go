package storage

import (
	"context"
	"slices"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// catalogTTL: the catalog is computed at most this often; anonymous
// requests for it must not each walk and sort every index.
const catalogTTL = 10 * time.Second

// pusherTTL: an owner who pushed is listed in the catalog this long after
// the push (while the index is held).
const pusherTTL = 24 * time.Hour

// Repositories implements registry.CatalogService with the repositories of
// owners who pushed through this AppView and whose index it holds, named
// by handle when they have one. An owner whose images were merely pulled
// is not listed: the catalog must not tell who looks at what. It is what
// this AppView has seen, not a listing of the network: ATCR has no index
// of other users' records yet (docs/registry.md).
func (s *Store) Repositories(context.Context) ([]string, error) {
	if names, ok := s.catalog.Get(struct{}{}); ok {
		return names, nil
	}
	var names []string
	for _, idx := range s.indexes.snapshot() {
		if _, pushed := s.pushers.Get(idx.did); !pushed {
			continue
		}
		for _, repo := range idx.repos() {
			names = append(names, idx.display+"/"+repo)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if names == nil {
		names = []string{}
	}
	s.catalog.Set(struct{}{}, names)
	return names, nil
}

// pushed remembers that did pushed through this AppView, for the catalog.
func (s *Store) pushed(did syntax.DID) {
	if _, ok := s.pushers.Get(did); !ok {
		s.pushers.Set(did, true)
		s.catalog.Remove(struct{}{})
	}
}
