package pdsread

import (
	"context"
	"fmt"
	"log/slog"

	"atcr.io/pkg/atproto/atcr"
)

// Limits bound one ListRepository.
type Limits struct {
	// MaxRecords bounds the records read per collection.
	MaxRecords int
	// MaxBytes bounds the record JSON read from both collections together,
	// tags taking at most a quarter of it; zero means no bound. Records are the account owner's to make as large
	// as their PDS allows.
	MaxBytes int64
}

// Listing is one account's manifest and tag records, in the order the PDS
// listed them. Records that do not decode are left out.
type Listing struct {
	Manifests []*ManifestRecord
	Tags      []*TagRecord
	// Truncated: a limit stopped the listing, so records may be missing.
	Truncated bool
	// Bytes is the JSON size of the records read.
	Bytes int64
}

// ListRepository lists both ATCR collections of acct within lim, tags
// first. Records that fail to decode are logged at debug level and skipped.
func (r *Reader) ListRepository(ctx context.Context, acct Account, lim Limits, log *slog.Logger) (*Listing, error) {
	l := &Listing{}
	// Tags take at most a quarter of the bound (10,000 tags are ~3 MB),
	// manifests what is left.
	limit := lim.MaxBytes / 4
	fits := func(rec Record) bool {
		if lim.MaxBytes > 0 && l.Bytes+int64(len(rec.Value)) > limit {
			return false
		}
		l.Bytes += int64(len(rec.Value))
		return true
	}
	// Tags first: they are small and every tag list is answered from them,
	// so manifests filling the bound leave the tags listed (the manifests a
	// tag names are read by key when the listing lacks them). The web UI's
	// pages need the manifests, which keep three quarters.
	truncated, err := r.ListRecords(ctx, acct, atcr.TagNSID, lim.MaxRecords, func(rec Record) bool {
		if !fits(rec) {
			return false
		}
		if t, err := DecodeTag(acct, rec); err == nil {
			l.Tags = append(l.Tags, t)
		} else {
			log.DebugContext(ctx, "pdsread: skipping tag record", "err", err)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", acct.DID, err)
	}
	l.Truncated = truncated
	limit = lim.MaxBytes
	truncated, err = r.ListRecords(ctx, acct, atcr.ManifestNSID, lim.MaxRecords, func(rec Record) bool {
		if !fits(rec) {
			return false
		}
		if m, err := DecodeManifest(acct, rec); err == nil {
			l.Manifests = append(l.Manifests, m)
		} else {
			log.DebugContext(ctx, "pdsread: skipping manifest record", "err", err)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list manifests of %s: %w", acct.DID, err)
	}
	l.Truncated = l.Truncated || truncated
	return l, nil
}
