package registry

import (
	"net/http"
	"slices"
	"strconv"

	"atcr.io/pkg/oci"
)

// getManifest answers GET and HEAD /v2/<name>/manifests/<reference> with
// the exact bytes pushed and their stored media type.
func (reg *Registry) getManifest(w http.ResponseWriter, r *http.Request, req *request) error {
	ref, err := oci.ParseReference(req.route.arg)
	if err != nil {
		return err
	}
	m, err := reg.manifests.GetManifest(r.Context(), req.repo, ref)
	if err != nil {
		return err
	}
	dgst := m.Digest
	if ref.IsDigest() {
		dgst = ref.Digest()
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Content-Length", strconv.Itoa(len(m.Body)))
	h.Set("Docker-Content-Digest", dgst.String())
	h.Set("ETag", `"`+dgst.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(m.Body)
		if reg.pulls != nil {
			reg.pulls.CountPull(req.repo.Owner.DID.String(), req.repo.Path())
		}
	}
	return nil
}

// putManifest answers PUT /v2/<name>/manifests/<reference>: read at most
// oci.MaxManifestSize bytes (413 above), validate, check a digest
// reference against the body, then let the ManifestService check the
// references and write the records. A push by digest may name tags with
// ?tag= parameters; each one applied is echoed in an OCI-Tag header.
func (reg *Registry) putManifest(w http.ResponseWriter, r *http.Request, req *request) error {
	ref, err := oci.ParseReference(req.route.arg)
	if err != nil {
		return err
	}
	if r.ContentLength > oci.MaxManifestSize {
		return oci.ErrorCodeManifestTooLarge.WithMessage("manifest exceeds " + strconv.Itoa(oci.MaxManifestSize) + " bytes")
	}
	body, err := oci.ReadManifestBody(r.Body)
	if err != nil {
		return err
	}
	m, err := oci.ParseManifest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return err
	}
	put := ManifestPut{Digest: m.Digest(), Manifest: m, Body: body}
	if ref.IsDigest() {
		h := oci.NewHasher(ref.Digest().Algorithm())
		_, _ = h.Write(body)
		if err := h.Verify(ref.Digest(), oci.SizeUnknown); err != nil {
			return err
		}
		put.Digest = ref.Digest()
		if put.Tags, err = tagParams(r); err != nil {
			return err
		}
	} else {
		put.Tags = []oci.Tag{ref.Tag()}
	}
	if err := reg.manifests.PutManifest(r.Context(), req.repo, put); err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Location", reg.urls.manifest(req.repo.Name, put.Digest))
	hdr.Set("Docker-Content-Digest", put.Digest.String())
	if ref.IsDigest() {
		for _, t := range put.Tags {
			hdr.Add("OCI-Tag", t.String())
		}
	}
	if subject, ok := m.Subject(); ok {
		hdr.Set("OCI-Subject", subject.Digest.String())
	}
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// MaxTagParams bounds the ?tag= parameters of one push by digest.
const MaxTagParams = 32

// tagParams reads the ?tag= parameters of a push by digest (distribution
// spec 1.1+): each is validated, duplicates are dropped.
func tagParams(r *http.Request) ([]oci.Tag, error) {
	values := r.URL.Query()["tag"]
	if len(values) > MaxTagParams {
		return nil, oci.ErrorCodeManifestInvalid.WithMessage("at most " + strconv.Itoa(MaxTagParams) + " tag parameters")
	}
	var tags []oci.Tag
	for _, v := range values {
		t, err := oci.ParseTag(v)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags, nil
}

// deleteManifest answers DELETE /v2/<name>/manifests/<reference>: a tag
// deletes the tag record only, a digest the manifest and its tags.
func (reg *Registry) deleteManifest(w http.ResponseWriter, r *http.Request, req *request) error {
	ref, err := oci.ParseReference(req.route.arg)
	if err != nil {
		return err
	}
	if err := reg.manifests.DeleteManifest(r.Context(), req.repo, ref); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
