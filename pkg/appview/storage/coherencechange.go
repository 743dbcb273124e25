package storage

import (
	"encoding/json"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
)

// indexChange is what one write did to an account's records, published
// with the account's new version (coherence.go) so the other AppViews
// apply it to their index of the account instead of listing it again.
// Exactly one field is set.
type indexChange struct {
	PutManifest  *pdsread.ManifestRecord `json:"putManifest,omitempty"`
	PutTag       *pdsread.TagRecord      `json:"putTag,omitempty"`
	DropManifest string                  `json:"dropManifest,omitempty"` // record key
	DropTag      string                  `json:"dropTag,omitempty"`      // record key
}

// valid reports whether the change names exactly one record of did's
// that an index could hold. Redis is shared by trusted AppViews only;
// this guards against a malformed message, not a hostile one.
func (c indexChange) valid(did syntax.DID) bool {
	set := 0
	for _, ok := range []bool{c.PutManifest != nil, c.PutTag != nil, c.DropManifest != "", c.DropTag != ""} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return false
	}
	switch {
	case c.PutManifest != nil:
		m := c.PutManifest
		return m.RKey != "" && m.URI == pdsread.ManifestURI(did, m.RKey) && m.Digest.String() == m.Value.Digest
	case c.PutTag != nil:
		return c.PutTag.RKey != "" && c.PutTag.Value.Manifest != ""
	}
	return true
}

// parseChange decodes a change of did's records as published.
func parseChange(did syntax.DID, body string) (indexChange, bool) {
	var c indexChange
	if json.Unmarshal([]byte(body), &c) != nil || !c.valid(did) {
		return indexChange{}, false
	}
	return c, true
}

// applyChange applies a change announced with version (by any AppView,
// this one included) to idx, if idx is current with the version before
// it, and reports whether idx is now current with version (false: idx
// missed a write and must be listed again). Changes to one index are
// applied one at a time (the subscription and catchUp both apply them),
// so a change is never applied over a later one.
func (s *Store) applyChange(idx *repoIndex, version int64, c indexChange) bool {
	idx.applyMu.Lock()
	defer idx.applyMu.Unlock()
	switch current := idx.version.Load(); {
	case current >= version:
		return true // listed after this write
	case current != version-1:
		return false // a version was missed
	}
	switch {
	// A record the index holds already (our own write, coming back in
	// turn, or a moved tag) is replaced without counting its bytes again.
	case c.PutManifest != nil:
		if idx.manifest(c.PutManifest.RKey) == nil {
			idx.bytes.Add(manifestRecordBytes(c.PutManifest))
		}
		idx.putManifest(c.PutManifest)
	case c.PutTag != nil:
		if idx.tag(c.PutTag.RKey) == nil {
			idx.bytes.Add(tagRecordJSON)
		}
		idx.putTag(c.PutTag)
		s.peerTagWritten(idx, c.PutTag, version)
	case c.DropManifest != "":
		idx.removeManifest(c.DropManifest)
	case c.DropTag != "":
		if t := idx.tag(c.DropTag); t != nil {
			s.tagCache.Remove(tagKey{did: idx.did, repo: t.Value.Repository, tag: t.Value.Tag})
		}
		idx.removeTag(c.DropTag)
	}
	idx.version.Store(version)
	return true
}

// peerTagWritten updates the tag cache after another AppView moved a tag:
// to the manifest the tag now names when the index has it, else the old
// answer is dropped.
func (s *Store) peerTagWritten(idx *repoIndex, t *pdsread.TagRecord, version int64) {
	key := tagKey{did: idx.did, repo: t.Value.Repository, tag: t.Value.Tag}
	if rec := idx.manifestAt(t.Value.Manifest); rec != nil && rec.Value.Repository == t.Value.Repository {
		s.tagCache.Set(key, tagAnswer{digest: rec.Digest, version: version})
		return
	}
	s.tagCache.Remove(key)
}

// manifestAt returns the indexed manifest record an AT-URI names, or nil.
func (idx *repoIndex) manifestAt(uri string) *pdsread.ManifestRecord {
	u, err := syntax.ParseATURI(uri)
	if err != nil || u.Authority().String() != idx.did.String() || u.Collection() != atcr.ManifestNSID {
		return nil
	}
	return idx.manifest(u.RecordKey().String())
}

// manifestRecordBytes is what a manifest record adds to an index's byte
// count (the bound of IndexAccountBytes): its JSON size, as listed.
func manifestRecordBytes(rec *pdsread.ManifestRecord) int64 {
	b, err := json.Marshal(rec.Value)
	if err != nil {
		return 0
	}
	return int64(len(b))
}
