package holdoci

import (
	"context"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

// ScanHook hands verified manifests to vulnerability scanning and tells it
// of deleted ones; *scan.Intake implements it (it also decides, by the
// user's tier, whether a push is scanned). Options.Scans nil scans
// nothing.
type ScanHook interface {
	// ManifestVerified queues a scan of a manifest whose record the hold
	// read from its owner's PDS and whose blobs it holds.
	ManifestVerified(ctx context.Context, manifest syntax.ATURI, rec *atcr.Manifest) error
	// HasManifest reports whether scanning knows the manifest.
	HasManifest(ctx context.Context, manifest syntax.ATURI) (bool, error)
	// ManifestDeleted drops the manifest's scan job and record; called
	// once the owner's PDS confirmed the record is gone.
	ManifestDeleted(ctx context.Context, manifest syntax.ATURI) error
}

// queueScan hands a verified manifest to scanning. A failure is logged,
// never the push's failure: the image is stored and accounted for.
func (h *Handlers) queueScan(ctx context.Context, manifest syntax.ATURI, rec *atcr.Manifest) {
	if h.scans == nil {
		return
	}
	if err := h.scans.ManifestVerified(context.WithoutCancel(ctx), manifest, rec); err != nil {
		h.log.Error("queue scan", "manifest", manifest, "err", err)
	}
}

// scanKnows reports whether scanning has anything of the manifest to drop
// (false without scanning, or when it cannot tell: logged).
func (h *Handlers) scanKnows(ctx context.Context, manifest syntax.ATURI) bool {
	if h.scans == nil {
		return false
	}
	known, err := h.scans.HasManifest(ctx, manifest)
	if err != nil {
		h.log.Error("look up scans of a deleted manifest", "manifest", manifest, "err", err)
	}
	return known
}

// forgetScan drops a deleted manifest's scan job and record (logged on
// failure: the layer records are what the deletion is about).
func (h *Handlers) forgetScan(ctx context.Context, manifest syntax.ATURI) {
	if err := h.scans.ManifestDeleted(context.WithoutCancel(ctx), manifest); err != nil {
		h.log.Error("drop scans of a deleted manifest", "manifest", manifest, "err", err)
	}
}
