package holdclient

import (
	"context"
	"time"

	"atcr.io/pkg/atproto/atcr"
)

// NotifyManifest tells the hold about a stored manifest, within timeout.
func (c *Client) NotifyManifest(ctx context.Context, h Hold, in atcr.HoldNotifyManifest_Input, timeout time.Duration) error {
	return c.post(ctx, h, atcr.HoldNotifyManifestNSID, timeout, in, nil)
}

// NotifyManifestDeleted tells the hold a manifest record is gone from the
// owner's PDS, within timeout, and returns how many layer records the hold
// deleted.
func (c *Client) NotifyManifestDeleted(ctx context.Context, h Hold, manifestURI string, timeout time.Duration) (int64, error) {
	var out atcr.HoldNotifyManifestDeleted_Output
	in := atcr.HoldNotifyManifestDeleted_Input{ManifestURI: manifestURI}
	if err := c.post(ctx, h, atcr.HoldNotifyManifestDeletedNSID, timeout, in, &out); err != nil {
		return 0, err
	}
	return out.LayersDeleted, nil
}
