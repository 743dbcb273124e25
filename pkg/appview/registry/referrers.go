package registry

import (
	"net/http"

	"atcr.io/pkg/oci"
)

// getReferrers answers GET /v2/<name>/referrers/<digest> with an image
// index of the descriptors of manifests whose subject is the digest: empty,
// never 404, when there are none. ?artifactType= filters, and the response
// then says so in OCI-Filters-Applied.
func (reg *Registry) getReferrers(w http.ResponseWriter, r *http.Request, req *request) error {
	subject, err := oci.ParseDigest(req.route.arg)
	if err != nil {
		return err
	}
	descs, err := reg.referrers.Referrers(r.Context(), req.repo, subject)
	if err != nil {
		return err
	}
	if want := r.URL.Query().Get("artifactType"); want != "" {
		kept := descs[:0:0]
		for _, d := range descs {
			if d.ArtifactType == want {
				kept = append(kept, d)
			}
		}
		descs = kept
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	if descs == nil {
		descs = []oci.Descriptor{}
	}
	return writeJSON(w, r, http.StatusOK, oci.MediaTypeOCIIndex, struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     string           `json:"mediaType"`
		Manifests     []oci.Descriptor `json:"manifests"`
	}{2, oci.MediaTypeOCIIndex, descs})
}
