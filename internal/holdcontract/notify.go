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

// A manifest whose blobs are stored gets a layer record per blob, its
// config included.
func testNotifyManifest(t *testing.T, c *client) {
	config, layer := randomBytes(t, 200), randomBytes(t, 1000)
	configDesc := atcr.HoldNotifyManifest_Descriptor{Digest: c.store(t, config).String(), MediaType: configMediaType, Size: int64(len(config))}
	layerDesc := atcr.HoldNotifyManifest_Descriptor{Digest: c.store(t, layer).String(), MediaType: layerMediaType, Size: int64(len(layer))}

	var out atcr.HoldNotifyManifest_Output
	wantOK(t, "notifyManifest", c.procedure(t, atcr.HoldNotifyManifestNSID, c.manifestNotice(t, &configDesc, layerDesc)), &out)
	if out.LayersRecorded != 2 {
		t.Errorf("notifyManifest recorded %d layers, want 2 (config and layer)", out.LayersRecorded)
	}
}

// A manifest naming a blob the hold does not have is refused.
func testNotifyManifestMissingBlob(t *testing.T, c *client) {
	missing := atcr.HoldNotifyManifest_Descriptor{
		Digest: oci.FromBytes(oci.SHA256, randomBytes(t, 100)).String(), MediaType: layerMediaType, Size: 100,
	}
	r := c.procedure(t, atcr.HoldNotifyManifestNSID, c.manifestNotice(t, nil, missing))
	wantError(t, "notifyManifest of a missing blob", r, http.StatusBadRequest, atcr.ErrorBlobNotFound)
}
