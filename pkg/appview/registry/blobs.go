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

// deleteBlob answers DELETE /v2/<name>/blobs/<digest> with 202 Accepted
// once the blob is unlinked from the repository, as distribution unlinks
// a blob from a repository rather than deleting shared content: the bytes
// are stored once per hold, content-addressed, and shared by every
// repository referencing them, so no repository can destroy them. This
// repository then answers 404 for the blob until it is uploaded or mounted
// into it again; the hold's garbage collection reclaims the bytes once no
// layer record references them. A blob the repository does not have is
// 404 BLOB_UNKNOWN.
func (reg *Registry) deleteBlob(w http.ResponseWriter, r *http.Request, req *request) error {
	d, err := oci.ParseDigest(req.route.arg)
	if err != nil {
		return err
	}
	if err := reg.blobs.DeleteBlob(r.Context(), req.repo, d); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
