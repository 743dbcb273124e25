package serviceauth

import (
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

const (
	// purgeInterval is how often one DID's cached document may be dropped
	// because a token failed its signature check.
	purgeInterval = time.Minute
	// maxTrackedPurges bounds the limiter's memory.
	maxTrackedPurges = 10_000
)

// purgeLimiter allows one directory purge per DID per purgeInterval. The zero
// value is ready to use.
type purgeLimiter struct {
	mu   sync.Mutex
	last map[syntax.DID]time.Time
}

func (p *purgeLimiter) allow(did syntax.DID, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = make(map[syntax.DID]time.Time)
	}
	if t, ok := p.last[did]; ok && now.Sub(t) < purgeInterval {
		return false
	}
	if len(p.last) >= maxTrackedPurges {
		for d, t := range p.last {
			if now.Sub(t) >= purgeInterval {
				delete(p.last, d)
			}
		}
		if len(p.last) >= maxTrackedPurges {
			// Every entry is recent: under attack. Refuse rather than grow.
			return false
		}
	}
	p.last[did] = now
	return true
}
