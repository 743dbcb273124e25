package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"atcr.io/pkg/oci"
)

// startUpload answers POST /v2/<name>/blobs/uploads/ in its three forms:
// ?mount=<digest>[&from=<repo>] (201 when the blob is already on the
// owner's push hold and not unlinked from the source, else a normal
// session; a mount links the blob to the repository), ?digest=<digest>
// with the whole blob as body (monolithic, 201), or a new session (202).
func (reg *Registry) startUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		d, err := oci.ParseDigest(mount)
		if err != nil {
			return err
		}
		// The source repository only had to be readable (authorize); the
		// blob must be where the manifest pushed next will look for it, and
		// not unlinked from the source. Otherwise: a normal session.
		src, ok, err := reg.mountSource(ctx, q.Get("from"), req)
		if err != nil {
			return err
		}
		if ok {
			// The session comes first: opening it is how the push hold says
			// whether it takes this account's writes (403 otherwise), which
			// a mount needs as much as an upload does. Not mounted, the
			// session is the answer; mounted, it is ended.
			up, err := reg.uploads.StartUpload(ctx, req.repo, oci.Digest{})
			if err != nil {
				return err
			}
			err = reg.blobs.MountBlob(ctx, req.repo, d, src)
			if err == nil {
				_ = reg.uploads.CancelUpload(context.WithoutCancel(ctx), req.repo, up.ID)
				reg.blobCreated(w, req, d)
				return nil
			}
			if !errors.Is(err, ErrBlobUnknown) {
				_ = reg.uploads.CancelUpload(context.WithoutCancel(ctx), req.repo, up.ID)
				return err
			}
			reg.uploadHeaders(w, req, up)
			w.WriteHeader(http.StatusAccepted)
			return nil
		}
	}
	if digest := q.Get("digest"); digest != "" {
		d, err := oci.ParseDigest(digest)
		if err != nil {
			return err
		}
		up, err := reg.uploads.StartUpload(ctx, req.repo, d)
		if err != nil {
			return err
		}
		if err := reg.writeAndFinish(ctx, w, r, req.repo, up.ID, d); err != nil {
			// Nobody else knows this session's ID: end it now rather than
			// leave it to expire.
			_ = reg.uploads.CancelUpload(context.WithoutCancel(ctx), req.repo, up.ID)
			return err
		}
		reg.blobCreated(w, req, d)
		return nil
	}
	up, err := reg.uploads.StartUpload(ctx, req.repo, oci.Digest{})
	if err != nil {
		return err
	}
	reg.uploadHeaders(w, req, up)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// mountSource resolves the from parameter of a mount: nil without one (or
// with an invalid name, which authorize ignored too), the target itself
// when it names the same repository. ok is false when the source's
// identity does not exist: nothing can be mounted from it.
func (reg *Registry) mountSource(ctx context.Context, from string, req *request) (src *Repo, ok bool, err error) {
	if from == "" {
		return nil, true, nil
	}
	name, err := oci.ParseRepository(from)
	if err != nil {
		return nil, true, nil
	}
	if name == req.repo.Name {
		return &req.repo, true, nil
	}
	owner, err := reg.resolver.ResolveOwner(ctx, name.Identity())
	if errors.Is(err, ErrNameUnknown) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &Repo{Name: name, Owner: owner}, true, nil
}

// patchUpload answers PATCH /v2/<name>/blobs/uploads/<id>: one chunk,
// streamed into the session. A Content-Range that does not start at the
// current offset is 416.
func (reg *Registry) patchUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	c, err := reg.chunk(w, r)
	if err != nil {
		reg.reportUpload(r.Context(), w, req)
		return err
	}
	up, err := reg.writeChunk(r.Context(), req.repo, req.route.arg, c)
	if up.ID != "" {
		reg.uploadHeaders(w, req, up)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// putUpload answers PUT /v2/<name>/blobs/uploads/<id>?digest=: an optional
// last chunk, then completion under the digest.
func (reg *Registry) putUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	d, err := oci.ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	if err := reg.writeAndFinish(r.Context(), w, r, req.repo, req.route.arg, d); err != nil {
		return err
	}
	reg.blobCreated(w, req, d)
	return nil
}

// getUpload answers GET /v2/<name>/blobs/uploads/<id> with 204 and the
// range received so far, so a client can resume.
func (reg *Registry) getUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	up, err := reg.uploads.GetUpload(r.Context(), req.repo, req.route.arg)
	if err != nil {
		return err
	}
	reg.uploadHeaders(w, req, up)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteUpload answers DELETE /v2/<name>/blobs/uploads/<id>: the session
// ends and the hold discards its parts.
func (reg *Registry) deleteUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := reg.uploads.CancelUpload(r.Context(), req.repo, req.route.arg); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeAndFinish streams a request body (if any) into the session and
// completes it under d.
func (reg *Registry) writeAndFinish(ctx context.Context, w http.ResponseWriter, r *http.Request, repo Repo, id string, d oci.Digest) error {
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		c, err := reg.chunk(w, r)
		if err != nil {
			return err
		}
		c.Last = true
		if _, err := reg.writeChunk(ctx, repo, id, c); err != nil {
			return err
		}
	}
	_, err := reg.uploads.FinishUpload(ctx, repo, id, d)
	return err
}

// blobCreated writes the 201 of a completed upload or mount.
func (reg *Registry) blobCreated(w http.ResponseWriter, req *request, d oci.Digest) {
	h := w.Header()
	h.Set("Location", reg.urls.blob(req.repo.Name, d))
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// uploadHeaders sets the headers of every response about a live session.
func (reg *Registry) uploadHeaders(w http.ResponseWriter, req *request, up Upload) {
	h := w.Header()
	h.Set("Location", reg.urls.upload(req.repo.Name, up.ID))
	h.Set("Docker-Upload-UUID", up.ID)
	h.Set("Range", rangeHeader(up.Offset))
	h.Set("Content-Length", "0")
}

// reportUpload adds the session's headers to an error response when the
// session exists, so a client refused with 416 learns where to resume.
func (reg *Registry) reportUpload(ctx context.Context, w http.ResponseWriter, req *request) {
	if up, err := reg.uploads.GetUpload(ctx, req.repo, req.route.arg); err == nil {
		reg.uploadHeaders(w, req, up)
	}
}

// rangeHeader is the Range of an upload holding n bytes: "0-<n-1>", and
// "0-0" when empty, as distribution answers.
func rangeHeader(n int64) string {
	if n > 0 {
		n--
	}
	return "0-" + strconv.FormatInt(n, 10)
}

// chunkRange reads Content-Range ("<start>-<end>", leniently also
// "bytes=<start>-<end>" and "bytes <start>-<end>/<total>") and returns the
// start and the chunk's length; without the header, -1 and the
// Content-Length (-1 when unknown). A malformed range, or one whose length
// disagrees with Content-Length, is ErrRangeInvalid.
func chunkRange(r *http.Request) (start, size int64, err error) {
	v := strings.TrimSpace(r.Header.Get("Content-Range"))
	if v == "" {
		return -1, r.ContentLength, nil
	}
	v = strings.TrimLeft(strings.TrimPrefix(v, "bytes"), "= ")
	v, _, _ = strings.Cut(v, "/")
	first, last, ok := strings.Cut(v, "-")
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start || end == math.MaxInt64 {
		return 0, 0, errorf(ErrRangeInvalid, "malformed Content-Range %q", r.Header.Get("Content-Range"))
	}
	if r.ContentLength >= 0 && r.ContentLength != end-start+1 {
		return 0, 0, errorf(ErrRangeInvalid, "Content-Range %d-%d disagrees with Content-Length %d", start, end, r.ContentLength)
	}
	return start, end - start + 1, nil
}

// chunk is the request's body as an upload chunk: where it starts and how
// long it is (Content-Range, Content-Length), read through the idle
// timeout; a chunked body with a Content-Range is held to its length.
func (reg *Registry) chunk(w http.ResponseWriter, r *http.Request) (Chunk, error) {
	start, size, err := chunkRange(r)
	if err != nil {
		return Chunk{}, err
	}
	body := reg.uploadBody(w, r)
	if r.ContentLength < 0 && size >= 0 {
		body = &exactBody{body: body, left: size}
	}
	return Chunk{Start: start, Size: size, Body: body}, nil
}

// writeChunk writes c to the session; a chunk read only to its stated
// length must then be at the body's end.
func (reg *Registry) writeChunk(ctx context.Context, repo Repo, id string, c Chunk) (Upload, error) {
	up, err := reg.uploads.WriteUpload(ctx, repo, id, c)
	if exact, ok := c.Body.(*exactBody); ok && err == nil {
		if rest := exact.rest(); !errors.Is(rest, io.EOF) {
			err = fmt.Errorf("upload %s: %w", id, rest)
		}
	}
	return up, err
}
