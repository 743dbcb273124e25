package storage

import (
	"context"
	"slices"
)

// Repositories implements registry.CatalogService with the repositories
// of the owners whose index this AppView holds: those pulled from or
// pushed to recently (bounded by Options.MaxIndexes). It is what this
// AppView has seen, not a listing of the network: ATCR has no index of
// other users' records yet (docs/registry.md). Owners are named by handle
// when they have one.
func (s *Store) Repositories(context.Context) ([]string, error) {
	var names []string
	for _, idx := range s.indexes.snapshot() {
		for _, repo := range idx.repos() {
			names = append(names, idx.display+"/"+repo)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
