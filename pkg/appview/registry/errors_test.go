package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"atcr.io/pkg/oci"
)

func TestErrorTable(t *testing.T) {
	d := oci.FromBytes(oci.SHA256, []byte("x"))
	_, digestErr := oci.ParseDigest("sha256:nope")
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{ErrNameUnknown, 404, "NAME_UNKNOWN"},
		{ErrManifestUnknown, 404, "MANIFEST_UNKNOWN"},
		{ErrBlobUnknown, 404, "BLOB_UNKNOWN"},
		{ErrUploadUnknown, 404, "BLOB_UPLOAD_UNKNOWN"},
		{ErrRangeInvalid, 416, "RANGE_INVALID"},
		{ErrUploadTooLarge, 400, "BLOB_UPLOAD_INVALID"},
		{ErrTooManyUploads, 429, "TOOMANYREQUESTS"},
		{ErrTooManyReferences, 400, "MANIFEST_INVALID"},
		{ErrManifestNotStorable, 400, "MANIFEST_INVALID"},
		{ErrNoSession, 401, "UNAUTHORIZED"},
		{ErrQuotaExceeded, 403, "DENIED"},
		{ErrHoldRefused, 403, "DENIED"},
		{&HoldLimitError{Hold: "did:web:hold.test", Detail: "100 upload sessions are open"}, 429, "TOOMANYREQUESTS"},
		{ErrManifestRecordGone, 503, "UNAVAILABLE"},
		{ErrUploadLockLost, 503, "UNAVAILABLE"},
		{fmt.Errorf("read unlinks: %w: dial tcp: connection refused", ErrDatabaseUnavailable), 503, "UNAVAILABLE"},
		{ErrUnavailable, 500, "UNKNOWN"},
		{fmt.Errorf("createRecord: %w: EOF", ErrPDSUnavailable), 502, "UNKNOWN"},
		{fmt.Errorf("initiateUpload: %w: EOF", ErrHoldUnavailable), 502, "UNKNOWN"},
		{fmt.Errorf("resolve: %w: EOF", ErrDirectoryUnavailable), 502, "UNKNOWN"},
		{fmt.Errorf("save upload session: %w: dial unix: connection refused", ErrSharedStateUnavailable), 503, "UNAVAILABLE"},
		{&MissingContentError{Digests: []oci.Digest{d, d}}, 404, "MANIFEST_BLOB_UNKNOWN"},
		{fmt.Errorf("complete: %w", oci.ErrDigestMismatch), 400, "DIGEST_INVALID"},
		{digestErr, 400, "DIGEST_INVALID"},
		{oci.ErrorCodeDenied.WithMessage("not yours"), 403, "DENIED"},
		{errors.New("disk on fire"), 500, "UNKNOWN"},
	}
	for _, c := range cases {
		t.Run(c.err.Error(), func(t *testing.T) {
			rec := httptest.NewRecorder()
			// Wrapped, as services return them, with context that must not leak.
			oci.ServeJSON(rec, ociError(fmt.Errorf("secret context s3://bucket/key: %w", c.err)))
			var body struct {
				Errors []struct {
					Code    string `json:"code"`
					Message string `json:"message"`
					Detail  any    `json:"detail"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) == 0 {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if rec.Code != c.status || body.Errors[0].Code != c.code {
				t.Fatalf("%d %s, want %d %s", rec.Code, body.Errors[0].Code, c.status, c.code)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Fatalf("context leaked: %s", rec.Body)
			}
		})
	}
	rec := httptest.NewRecorder()
	oci.ServeJSON(rec, ociError(&MissingContentError{Digests: []oci.Digest{d, oci.FromBytes(oci.SHA256, nil)}}))
	if n := strings.Count(rec.Body.String(), "MANIFEST_BLOB_UNKNOWN"); n != 2 || !strings.Contains(rec.Body.String(), d.String()) {
		t.Fatalf("missing content body %s", rec.Body)
	}
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestMatchRoute(t *testing.T) {
	cases := map[string]route{
		"/v2":                                       {resource: resourceBase},
		"/v2/":                                      {resource: resourceBase},
		"/v2/_catalog":                              {resource: resourceCatalog},
		"/v2/a.test/b/c/manifests/latest":           {resource: resourceManifest, name: "a.test/b/c", arg: "latest"},
		"/v2/a.test/manifests/manifests/x":          {resource: resourceManifest, name: "a.test/manifests", arg: "x"},
		"/v2/a.test/blobs/blobs/sha256:1":           {resource: resourceBlob, name: "a.test/blobs", arg: "sha256:1"},
		"/v2/a.test/b/blobs/uploads/":               {resource: resourceUploadStart, name: "a.test/b"},
		"/v2/a.test/b/blobs/uploads":                {resource: resourceUploadStart, name: "a.test/b"},
		"/v2/a.test/b/blobs/uploads/123":            {resource: resourceUpload, name: "a.test/b", arg: "123"},
		"/v2/a.test/tags/list/tags/list":            {resource: resourceTags, name: "a.test/tags/list"},
		"/v2/a.test/b/referrers/sha256:1":           {resource: resourceReferrers, name: "a.test/b", arg: "sha256:1"},
		"/v2/did:web:h%3A8080/b/manifests/v1":       {resource: resourceManifest, name: "did:web:h%3A8080/b", arg: "v1"},
		"/v2/a.test/b/blobs/uploads/123/blobs/sha2": {resource: resourceBlob, name: "a.test/b/blobs/uploads/123", arg: "sha2"},
	}
	for path, want := range cases {
		if got, ok := matchRoute(path); !ok || got != want {
			t.Errorf("matchRoute(%q) = %+v, %v; want %+v", path, got, ok, want)
		}
	}
	for _, path := range []string{"/v1/", "/v2x", "/v2/a.test", "/v2/manifests/x", "/v2/a.test/b/unknown/x"} {
		if got, ok := matchRoute(path); ok {
			t.Errorf("matchRoute(%q) = %+v, want no match", path, got)
		}
	}
}
