package gc

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// layerCollection holds the records that reference blobs.
const layerCollection = syntax.NSID(atcr.HoldLayerNSID)

// refreshOverlap is how far before the newest record seen a refresh starts
// reading again, so a record keyed by a TID from a slightly slower clock is
// not skipped.
const refreshOverlap = time.Minute

// references is the set of digests layer records reference, kept current
// during a sweep.
type references struct {
	records Records
	digests map[string]struct{}
	// seq is the repository's LastSeq the set reflects.
	seq int64
	// newest is the highest record key seen; records are keyed by TID, so
	// later records sort after it.
	newest string
}

func newReferences(r Records) *references {
	return &references{records: r, digests: make(map[string]struct{})}
}

func (r *references) has(digest string) bool {
	_, ok := r.digests[digest]
	return ok
}

func (r *references) size() int { return len(r.digests) }

// mark reads every layer record.
func (r *references) mark(ctx context.Context) error {
	r.seq = r.records.LastSeq() // before reading: a later commit triggers a refresh
	return r.readFrom(ctx, "")
}

// refresh reads the layer records written since the set was last brought up
// to date, if the repository committed in between. Deleted records stay in
// the set: keeping a blob one run longer is safe.
func (r *references) refresh(ctx context.Context) error {
	seq := r.records.LastSeq()
	if seq == r.seq {
		return nil
	}
	start := ""
	if tid, err := syntax.ParseTID(r.newest); err == nil {
		start = syntax.NewTIDFromTime(tid.Time().Add(-refreshOverlap), 0).String()
	}
	// A newest key that is not a TID (imported records) means a full re-read.
	if err := r.readFrom(ctx, start); err != nil {
		return err
	}
	r.seq = seq
	return nil
}

// readFrom adds the digests of layer records whose key sorts after cursor
// ("" = all), in ascending key order.
func (r *references) readFrom(ctx context.Context, cursor string) error {
	for {
		recs, next, err := r.records.ListRecords(ctx, layerCollection, 100, cursor, true)
		if err != nil {
			return fmt.Errorf("gc mark: list layer records: %w", err)
		}
		for _, rec := range recs {
			if d, ok := rec.Value["digest"].(string); ok && d != "" {
				// Keyed like the walk's digests; an unparsable digest is
				// kept as written (it can match no blob key anyway).
				if parsed, err := oci.ParseDigest(d); err == nil {
					d = parsed.String()
				}
				r.digests[d] = struct{}{}
			}
			if k := rec.RKey.String(); k > r.newest {
				r.newest = k
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}
