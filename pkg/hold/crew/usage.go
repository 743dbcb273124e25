package crew

import (
	"context"
	"fmt"
	"sync"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// usageCache holds every user's usage as of one repository sequence number.
type usageCache struct {
	// compute serialises scans, so a burst of checks after a commit costs
	// one scan, not one per caller.
	compute sync.Mutex
	mu      sync.Mutex
	valid   bool
	seq     int64
	byUser  map[syntax.DID]int64
}

// Usage returns the bytes the user's layer records account for: the sum of
// the sizes of the distinct digests among them.
func (s *Service) Usage(ctx context.Context, user syntax.DID) (int64, error) {
	all, err := s.usageByUser(ctx)
	if err != nil {
		return 0, err
	}
	return all[user], nil
}

// usageByUser returns the cached per-user usage, rescanning the layer
// collection when a commit happened since the last scan.
func (s *Service) usageByUser(ctx context.Context) (map[syntax.DID]int64, error) {
	c := &s.usage
	if m, ok := c.current(s.pds.LastSeq()); ok {
		return m, nil
	}
	c.compute.Lock()
	defer c.compute.Unlock()
	// The sequence number is read before the scan: a commit during the scan
	// leaves the result tagged as older, and the next call scans again.
	seq := s.pds.LastSeq()
	if m, ok := c.current(seq); ok {
		return m, nil // computed while we waited
	}
	m, err := s.scanUsage(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.valid, c.seq, c.byUser = true, seq, m
	c.mu.Unlock()
	return m, nil
}

func (c *usageCache) current(seq int64) (map[syntax.DID]int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byUser, c.valid && c.seq == seq
}

// scanUsage reads every layer record once and sums distinct digests per user.
func (s *Service) scanUsage(ctx context.Context) (map[syntax.DID]int64, error) {
	type userDigest struct {
		user   syntax.DID
		digest string
	}
	seen := make(map[userDigest]struct{})
	totals := make(map[syntax.DID]int64)
	cursor := ""
	for {
		recs, next, err := s.pds.ListRecords(ctx, layerCollection, 100, cursor, true)
		if err != nil {
			return nil, fmt.Errorf("list layer records: %w", err)
		}
		for _, rec := range recs {
			// Read the three fields directly: decoding whole records through
			// JSON would dominate the scan.
			user, _ := rec.Value["userDid"].(string)
			digest, _ := rec.Value["digest"].(string)
			size, _ := rec.Value["size"].(int64)
			if user == "" || digest == "" || size < 0 {
				s.log.Warn("Ignoring malformed layer record in usage", "uri", rec.URI)
				continue
			}
			k := userDigest{syntax.DID(user), digest}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			totals[k.user] += size
		}
		if next == "" {
			return totals, nil
		}
		cursor = next
	}
}
