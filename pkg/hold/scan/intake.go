package scan

import (
	"context"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// Intake turns the manifests the hold verified (notifyManifest) into scan
// jobs and forgets deleted ones; it implements holdoci.ScanHook.
type Intake struct {
	Queue *Queue
	// ScanOnPush decides whether a user's pushes are scanned: the user's
	// quota tier's scan_on_push, else scanner.scan_on_push. Nil scans
	// every push.
	ScanOnPush func(ctx context.Context, user syntax.DID) (bool, error)
}

// ManifestVerified implements holdoci.ScanHook: it queues a scan of an
// image manifest, or records an image index with its linux platform
// manifests (EnqueueIndex). Artifacts are queued like images: the Scanner
// records them as skipped with the reason.
func (in *Intake) ManifestVerified(ctx context.Context, manifest syntax.ATURI, rec *atcr.Manifest) error {
	owner, err := manifest.Authority().AsDID()
	if err != nil {
		return fmt.Errorf("scan: manifest %s names no DID", manifest)
	}
	if in.ScanOnPush != nil {
		scan, err := in.ScanOnPush(ctx, owner)
		if err != nil {
			return fmt.Errorf("scan_on_push of %s: %w", owner, err)
		}
		if !scan {
			return nil
		}
	}
	job, err := JobFromRecord(manifest, rec)
	if err != nil {
		return err
	}
	if oci.IsIndexMediaType(rec.MediaType) {
		return in.Queue.EnqueueIndex(ctx, job, linuxChildren(rec))
	}
	_, err = in.Queue.Enqueue(ctx, job)
	return err
}

// HasManifest implements holdoci.ScanHook.
func (in *Intake) HasManifest(ctx context.Context, manifest syntax.ATURI) (bool, error) {
	return in.Queue.Knows(ctx, manifest.String())
}

// ManifestDeleted implements holdoci.ScanHook: the owner's PDS confirmed
// the record is gone.
func (in *Intake) ManifestDeleted(ctx context.Context, manifest syntax.ATURI) error {
	_, err := in.Queue.Forget(ctx, manifest.String())
	return err
}

// JobFromRecord builds a job from a verified io.atcr.manifest record: the
// owner from the URI, the rest from the record. Non-distributable layers
// are left out: they are not stored on the hold.
func JobFromRecord(manifest syntax.ATURI, rec *atcr.Manifest) (Job, error) {
	owner, err := manifest.Authority().AsDID()
	if err != nil {
		return Job{}, fmt.Errorf("scan: manifest %s names no DID", manifest)
	}
	d, err := oci.ParseDigest(rec.Digest)
	if err != nil {
		return Job{}, fmt.Errorf("scan: manifest %s: digest: %w", manifest, err)
	}
	img := Image{Digest: d, MediaType: rec.MediaType, ArtifactType: rec.ArtifactType}
	if rec.Config != nil {
		if img.Config, err = descriptor(*rec.Config); err != nil {
			return Job{}, fmt.Errorf("scan: manifest %s: config: %w", manifest, err)
		}
	}
	for _, l := range rec.Layers {
		if oci.IsNondistributable(l.MediaType) {
			continue
		}
		desc, err := descriptor(l)
		if err != nil {
			return Job{}, fmt.Errorf("scan: manifest %s: layer: %w", manifest, err)
		}
		img.Layers = append(img.Layers, desc)
	}
	return Job{Manifest: manifest.String(), Owner: owner.String(), Repository: rec.Repository, Image: img}, nil
}

func descriptor(b atcr.Manifest_BlobReference) (oci.Descriptor, error) {
	d, err := oci.ParseDigest(b.Digest)
	if err != nil {
		return oci.Descriptor{}, err
	}
	if b.Size < 0 {
		return oci.Descriptor{}, fmt.Errorf("%s has a negative size", d)
	}
	return oci.Descriptor{MediaType: b.MediaType, Digest: d, Size: b.Size, ArtifactType: b.ArtifactType}, nil
}

// linuxChildren lists an index's linux platform manifests (attestation
// entries say unknown/unknown and are left out).
func linuxChildren(rec *atcr.Manifest) []oci.Digest {
	var out []oci.Digest
	for _, m := range rec.Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			continue
		}
		if d, err := oci.ParseDigest(m.Digest); err == nil {
			out = append(out, d)
		}
	}
	return out
}
