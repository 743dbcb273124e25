package grypescan

import (
	"fmt"
	"strings"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// Config media types a scan recognises by name, to say what an artifact is.
const (
	mediaTypeHelmConfig     = "application/vnd.cncf.helm.config.v1+json"
	mediaTypeInToto         = "application/vnd.in-toto+json"
	mediaTypeDSSE           = "application/vnd.dsse.envelope.v1+json"
	mediaTypeCosignSimple   = "application/vnd.dev.cosign.simplesigning.v1+json"
	mediaTypeSigstoreBundle = "application/vnd.dev.sigstore.bundle"
)

// layerCompression is how a layer's tar stream is compressed.
type layerCompression int

const (
	compressionNone layerCompression = iota
	compressionGzip
	compressionZstd
)

// imageLayerTypes are the layer media types of container images this
// scanner unpacks, with their compression.
var imageLayerTypes = map[string]layerCompression{
	oci.MediaTypeOCILayer:                          compressionNone,
	oci.MediaTypeOCILayerGzip:                      compressionGzip,
	oci.MediaTypeOCILayerZstd:                      compressionZstd,
	oci.MediaTypeDockerLayer:                       compressionGzip,
	"application/x-tar":                            compressionNone, // old Docker clients
	"application/vnd.docker.image.rootfs.diff.tar": compressionNone,
}

// skipReason says why img is not a container image this scanner scans, or
// "" when it is one. It looks at descriptors only, never at blobs.
func skipReason(img scan.Image) string {
	if oci.IsIndexMediaType(img.MediaType) {
		return "an image index is scanned through its platform manifests"
	}
	if img.MediaType != "" && !oci.IsManifestMediaType(img.MediaType) {
		return limit(fmt.Sprintf("not a container image: manifest media type %s", img.MediaType))
	}
	// The AppView records an image's artifactType as its config media type
	// (what the referrers API reports for a manifest without one): that
	// still names a container image.
	if name := artifactName(img.ArtifactType); img.ArtifactType != "" && !isImageConfig(img.ArtifactType) {
		return limit(fmt.Sprintf("not a container image: %s (artifact type %s)", name, img.ArtifactType))
	}
	if !isImageConfig(img.Config.MediaType) {
		return limit(fmt.Sprintf("not a container image: %s (config media type %s)",
			artifactName(img.Config.MediaType), img.Config.MediaType))
	}
	for _, l := range img.Layers {
		if oci.IsNondistributable(l.MediaType) {
			return limit(fmt.Sprintf("the image has a non-distributable layer (%s), which the registry does not store", l.MediaType))
		}
		if _, ok := imageLayerTypes[l.MediaType]; !ok {
			return limit(fmt.Sprintf("not a container image: %s (layer media type %s)", artifactName(l.MediaType), l.MediaType))
		}
	}
	return ""
}

// isImageConfig reports whether mt is a container image's config media type.
func isImageConfig(mt string) bool {
	return mt == oci.MediaTypeOCIConfig || mt == oci.MediaTypeDockerConfig
}

// artifactName names the kind of artifact a media type belongs to, for
// the reason people read.
func artifactName(mt string) string {
	switch {
	case mt == mediaTypeHelmConfig || strings.HasPrefix(mt, "application/vnd.cncf.helm."):
		return "a Helm chart"
	case mt == mediaTypeInToto || strings.Contains(mt, "in-toto"):
		return "an in-toto attestation"
	case mt == mediaTypeDSSE || strings.Contains(mt, "dsse"):
		return "a DSSE attestation"
	case mt == mediaTypeCosignSimple || strings.HasPrefix(mt, "application/vnd.dev.cosign."):
		return "a cosign signature"
	case strings.HasPrefix(mt, mediaTypeSigstoreBundle):
		return "a Sigstore bundle"
	case strings.Contains(mt, "spdx") || strings.Contains(mt, "cyclonedx"):
		return "an SBOM"
	case mt == oci.MediaTypeOCIEmpty:
		return "an artifact"
	}
	return "an artifact"
}

// maxReason is the lexicon's bound on a record's reason.
const maxReason = 512

// limit cuts a reason to maxReason bytes (at a rune boundary).
func limit(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason - len("…")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
