package registry

import (
	"net/http"
	"strconv"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/oci"
)

// headBlob answers HEAD /v2/<name>/blobs/<digest> with the size and digest,
// never a redirect: presigned URLs are bound to GET.
//
// A client holding push access on the repository is pushing: it asks so it
// can skip uploads, and the manifest it pushes next is checked against the
// owner's push hold, so only that hold is asked. Anyone else is pulling and
// gets the holds of the repository's manifests first.
func (reg *Registry) headBlob(w http.ResponseWriter, r *http.Request, req *request) error {
	d, err := oci.ParseDigest(req.route.arg)
	if err != nil {
		return err
	}
	forPush := req.grant.Allows(access.Access{Type: access.TypeRepository, Name: req.repo.Name.String(), Action: access.ActionPush})
	size, err := reg.blobs.StatBlob(r.Context(), req.repo, d, forPush)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	w.WriteHeader(http.StatusOK)
	return nil
}

// getBlob answers GET /v2/<name>/blobs/<digest> with 307 to a presigned
// URL: blob bytes never pass through the AppView.
func (reg *Registry) getBlob(w http.ResponseWriter, r *http.Request, req *request) error {
	d, err := oci.ParseDigest(req.route.arg)
	if err != nil {
		return err
	}
	loc, err := reg.blobs.BlobURL(r.Context(), req.repo, d)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusTemporaryRedirect)
	return nil
}

// deleteBlob refuses DELETE /v2/<name>/blobs/<digest> with 405
// UNSUPPORTED. A blob lives once per hold, content-addressed and shared by
// every repository and user whose manifests reference it, so no repository
// owns it; deleting manifests is how content is removed, and the hold's
// garbage collector reclaims blobs no manifest references. Answering 202
// without deleting would break the spec's promise that a deleted blob is
// gone; the conformance suite counts 405 as "unsupported", not a failure.
func (reg *Registry) deleteBlob(http.ResponseWriter, *http.Request, *request) error {
	return oci.ErrorCodeUnsupported.WithMessage(
		"blobs are shared content-addressed storage in the hold; delete manifests and let the hold's garbage collection reclaim unreferenced blobs")
}
