package holdcontract

import (
	"net/http"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

const (
	manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
	configMediaType   = "application/vnd.oci.image.config.v1+json"
	layerMediaType    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// manifestNotice announces a manifest of the writer's with the given
// config and layers; the manifest's own bytes need not exist anywhere.
func (c *client) manifestNotice(t *testing.T, config *atcr.HoldNotifyManifest_Descriptor, layers ...atcr.HoldNotifyManifest_Descriptor) atcr.HoldNotifyManifest_Input {
	t.Helper()
	d := oci.FromBytes(oci.SHA256, randomBytes(t, 100))
	return atcr.HoldNotifyManifest_Input{
		ManifestURI:    "at://" + c.target.Writer.String() + "/" + atcr.ManifestNSID + "/" + d.Hex(),
		ManifestDigest: d.String(),
		MediaType:      manifestMediaType,
		Repository:     "holdcontract",
		Tag:            "latest",
		Config:         config,
		Layers:         layers,
	}
}

// publish makes the writer's PDS serve the io.atcr.manifest record the
// notice describes, naming this hold, as the AppView writes it before
// notifying.
func (c *client) publish(t *testing.T, in atcr.HoldNotifyManifest_Input) {
	t.Helper()
	ref := func(d atcr.HoldNotifyManifest_Descriptor) atcr.Manifest_BlobReference {
		return atcr.Manifest_BlobReference{Digest: d.Digest, Size: d.Size, MediaType: d.MediaType}
	}
	rec := atcr.Manifest{
		LexiconTypeID: atcr.ManifestNSID,
		Digest:        in.ManifestDigest, MediaType: in.MediaType, Repository: in.Repository,
		SchemaVersion: 2, CreatedAt: "2026-03-01T12:00:00.000Z", HoldDID: c.target.DID.String(),
	}
	if in.Config != nil {
		cfg := ref(*in.Config)
		rec.Config = &cfg
	}
	for _, l := range in.Layers {
		rec.Layers = append(rec.Layers, ref(l))
	}
	c.target.PublishManifest(t, in.ManifestURI, rec)
}

// storedLayer uploads n random bytes and describes them as a layer.
func (c *client) storedLayer(t *testing.T, n int, mediaType string) atcr.HoldNotifyManifest_Descriptor {
	t.Helper()
	data := randomBytes(t, n)
	return atcr.HoldNotifyManifest_Descriptor{Digest: c.store(t, data).String(), MediaType: mediaType, Size: int64(n)}
}

// A manifest whose record names stored blobs gets a layer record per blob,
// its config included.
func testNotifyManifest(t *testing.T, c *client) {
	configDesc, layerDesc := c.storedLayer(t, 200, configMediaType), c.storedLayer(t, 1000, layerMediaType)
	in := c.manifestNotice(t, &configDesc, layerDesc)
	c.publish(t, in)
	var out atcr.HoldNotifyManifest_Output
	wantOK(t, "notifyManifest", c.procedure(t, atcr.HoldNotifyManifestNSID, in), &out)
	if out.LayersRecorded != 2 {
		t.Errorf("notifyManifest recorded %d layers, want 2 (config and layer)", out.LayersRecorded)
	}
}

// A manifest record naming a blob the hold does not have is refused.
func testNotifyManifestMissingBlob(t *testing.T, c *client) {
	missing := atcr.HoldNotifyManifest_Descriptor{
		Digest: oci.FromBytes(oci.SHA256, randomBytes(t, 100)).String(), MediaType: layerMediaType, Size: 100,
	}
	in := c.manifestNotice(t, nil, missing)
	c.publish(t, in)
	r := c.procedure(t, atcr.HoldNotifyManifestNSID, in)
	wantError(t, "notifyManifest of a missing blob", r, http.StatusBadRequest, atcr.ErrorBlobNotFound)
}

// A notification for a record the owner's PDS does not have is refused,
// even when every blob it names is stored.
func testNotifyManifestWithoutRecord(t *testing.T, c *client) {
	in := c.manifestNotice(t, nil, c.storedLayer(t, 300, layerMediaType))
	r := c.procedure(t, atcr.HoldNotifyManifestNSID, in)
	wantError(t, "notifyManifest without a manifest record", r, http.StatusBadRequest, atcr.ErrorManifestNotFound)
}

// The layers come from the record, not from the notification: a caller
// naming one more (stored) blob than the record gets only the record's.
func testNotifyManifestRecordWins(t *testing.T, c *client) {
	recorded, extra := c.storedLayer(t, 400, layerMediaType), c.storedLayer(t, 500, layerMediaType)
	in := c.manifestNotice(t, nil, recorded)
	c.publish(t, in)
	in.Layers = append(in.Layers, extra)
	var out atcr.HoldNotifyManifest_Output
	wantOK(t, "notifyManifest naming a blob the record does not", c.procedure(t, atcr.HoldNotifyManifestNSID, in), &out)
	if out.LayersRecorded != 1 {
		t.Errorf("notifyManifest recorded %d layers, want 1 (the record's)", out.LayersRecorded)
	}
}

// Someone who neither owns the manifest nor is crew may not ask the hold
// to drop its layer records.
func testNotifyManifestDeletedByOutsider(t *testing.T, c *client) {
	in := c.manifestNotice(t, nil, c.storedLayer(t, 600, layerMediaType))
	c.publish(t, in)
	wantOK(t, "notifyManifest", c.procedure(t, atcr.HoldNotifyManifestNSID, in), nil)
	r := c.procedureAs(t, c.target.Outsider, atcr.HoldNotifyManifestDeletedNSID,
		atcr.HoldNotifyManifestDeleted_Input{ManifestURI: in.ManifestURI})
	wantError(t, "notifyManifestDeleted by an outsider", r, http.StatusForbidden, atcr.ErrorForbidden)
}
