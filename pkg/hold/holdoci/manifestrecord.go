package holdoci

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
)

// manifestRecord reads the io.atcr.manifest record at uri from its owner's
// PDS and checks that it describes the announced manifest (its digest) on
// this hold (its holdDid) under a valid repository name. What the caller
// sent about layers and repository is never used: only the record counts.
func (h *Handlers) manifestRecord(ctx context.Context, uri syntax.ATURI, digest oci.Digest) (*atcr.Manifest, error) {
	raw, err := h.readOwnerRecord(ctx, uri)
	if errors.Is(err, errRecordGone) {
		return nil, errManifestNotFound("the owner's PDS has no record %s", uri)
	}
	if err != nil {
		return nil, err
	}
	var rec atcr.Manifest
	if err := json.Unmarshal(raw.Value, &rec); err != nil || rec.LexiconTypeID != atcr.ManifestNSID {
		return nil, errManifestNotFound("the record %s is not an %s record", uri, atcr.ManifestNSID)
	}
	recDigest, err := oci.ParseDigest(rec.Digest)
	if err != nil || recDigest != digest {
		return nil, errManifestNotFound("the record %s describes manifest %q, not %s", uri, rec.Digest, digest)
	}
	if rec.HoldDID != h.pds.DID().String() {
		return nil, errManifestNotFound("the record %s names hold %q, not this hold", uri, rec.HoldDID)
	}
	// The path grammar is checked under a stand-in identity: the record
	// keeps the path only, below its owner.
	if _, err := oci.ParseRepository("did:web:hold.invalid/" + rec.Repository); err != nil {
		return nil, xrpc.InvalidRequest("the manifest record's repository is not a valid name")
	}
	return &rec, nil
}
