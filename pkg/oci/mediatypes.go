package oci

import specs "github.com/opencontainers/image-spec/specs-go/v1"

// OCI image-spec media types (v1.1).
const (
	MediaTypeOCIManifest = specs.MediaTypeImageManifest
	MediaTypeOCIIndex    = specs.MediaTypeImageIndex
	MediaTypeOCIConfig   = specs.MediaTypeImageConfig
	MediaTypeOCIEmpty    = specs.MediaTypeEmptyJSON // the "{}" blob of artifacts

	MediaTypeOCILayer     = specs.MediaTypeImageLayer
	MediaTypeOCILayerGzip = specs.MediaTypeImageLayerGzip
	MediaTypeOCILayerZstd = specs.MediaTypeImageLayerZstd

	// Non-distributable layers are deprecated by the image spec but still
	// pushed (Windows base images). Their bytes live at the descriptor's
	// URLs; the registry neither stores nor fetches them.
	MediaTypeOCILayerNondistributable     = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	MediaTypeOCILayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	MediaTypeOCILayerNondistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
)

// Docker image manifest v2 schema 2 media types.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerPluginConfig = "application/vnd.docker.plugin.v1+json"
	MediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	// MediaTypeDockerForeignLayer is Docker's non-distributable layer.
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

	// Schema 1 is refused (ErrManifestUnsupported); the constants exist so
	// the refusal can name them.
	MediaTypeDockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	MediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// IsManifestMediaType reports whether mt is an image manifest type this
// registry accepts (OCI image manifest or Docker v2 schema 2). mt must be a
// bare media type, without parameters.
func IsManifestMediaType(mt string) bool {
	return mt == MediaTypeOCIManifest || mt == MediaTypeDockerManifest
}

// IsIndexMediaType reports whether mt is an index type this registry accepts
// (OCI image index or Docker manifest list). mt must be a bare media type.
func IsIndexMediaType(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

// IsNondistributable reports whether a layer of type mt is stored outside the
// registry (OCI non-distributable or Docker foreign layer), so its blob is not
// expected to exist in the registry.
func IsNondistributable(mt string) bool {
	switch mt {
	case MediaTypeOCILayerNondistributable, MediaTypeOCILayerNondistributableGzip,
		MediaTypeOCILayerNondistributableZstd, MediaTypeDockerForeignLayer:
		return true
	}
	return false
}

// IsValidMediaType reports whether s has the media type grammar the image
// spec requires of descriptors (RFC 6838 restricted-name, no parameters):
// ^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$
// Use it on user input such as the referrers API's artifactType filter.
func IsValidMediaType(s string) bool {
	slash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			if slash >= 0 {
				return false
			}
			slash = i
		}
	}
	return slash >= 0 && validRestrictedName(s[:slash]) && validRestrictedName(s[slash+1:])
}

func validRestrictedName(s string) bool {
	if len(s) == 0 || len(s) > 127 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) {
			switch c {
			case '!', '#', '$', '&', '^', '_', '.', '+', '-':
			default:
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
