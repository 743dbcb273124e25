package jetstream

import "time"

// backoff is the wait before reconnection attempt n (0 for the first retry):
// min·2ⁿ capped at max, of which a random upper half is kept ("equal
// jitter"), so many AppViews dropped at once do not come back in step and
// no wait is shorter than half the nominal one.
func backoff(n int, minD, maxD time.Duration, jitter float64) time.Duration {
	d := minD
	for i := 0; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	return half + time.Duration(jitter*float64(d-half))
}
