package browse

import (
	"fmt"
	"testing"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// An index of thousands of entries (its owner's to write) lists at most
// MaxPlatforms platforms in a row.
func TestSummaryBoundsPlatforms(t *testing.T) {
	e := &pdsread.ManifestRecord{Value: atcr.Manifest{Repository: "app", MediaType: oci.MediaTypeOCIIndex}}
	for i := range 2000 {
		e.Value.Manifests = append(e.Value.Manifests, atcr.Manifest_ManifestReference{
			Digest: oci.FromBytes(oci.SHA256, fmt.Appendf(nil, "%d", i)).String(), MediaType: oci.MediaTypeOCIManifest,
			Platform: &atcr.Manifest_Platform{OS: "linux", Architecture: fmt.Sprintf("arch%d", i)},
		})
	}
	l := &listing{}
	l.index()
	if s := l.summary(e); s.Kind != KindIndex || len(s.Platforms) != MaxPlatforms {
		t.Fatalf("kind %v, %d platforms; want an index of %d", s.Kind, len(s.Platforms), MaxPlatforms)
	}
}
