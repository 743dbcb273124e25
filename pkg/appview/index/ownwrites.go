package index

import "context"

// IndexRecord indexes a record this AppView itself just wrote to a PDS (a
// manifest or tag of a push), so the pages show it before Jetstream echoes
// it; the echo then changes nothing. It is storage.Indexer's method.
func (s *Store) IndexRecord(ctx context.Context, did, collection, rkey, cid string, value map[string]any) error {
	return s.Put(ctx, Record{DID: did, Collection: collection, RKey: rkey, CID: cid, Value: value})
}

// UnindexRecord removes a record this AppView itself just deleted.
func (s *Store) UnindexRecord(ctx context.Context, did, collection, rkey string) error {
	return s.Delete(ctx, did, collection, rkey)
}
