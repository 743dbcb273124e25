package registry_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/appview/uploads"
	"atcr.io/pkg/oci"
)

// startSession opens an upload and returns its Location.
func (e *testEnv) startSession(t testing.TB, u storagetest.User, repo string) string {
	t.Helper()
	resp := e.call(t, u, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil)
	expectStatus(t, resp, http.StatusAccepted)
	loc := resp.Header.Get("Location")
	id := resp.Header.Get("Docker-Upload-UUID")
	if !strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/") || id == "" || !strings.HasSuffix(loc, id) || resp.Header.Get("Range") != "0-0" {
		t.Fatalf("start headers %v", resp.Header)
	}
	return loc
}

func chunk(start, n int) map[string]string {
	return map[string]string{"Content-Type": "application/octet-stream", "Content-Range": fmt.Sprintf("%d-%d", start, start+n-1)}
}

// fetchBlob follows a blob GET's redirect and returns the bytes.
func (e *testEnv) fetchBlob(t *testing.T, repo string, d oci.Digest) []byte {
	t.Helper()
	resp := e.call(t, storagetest.User{}, http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), nil, nil)
	expectStatus(t, resp, http.StatusTemporaryRedirect)
	if resp.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("GET blob headers %v", resp.Header)
	}
	got, err := http.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	data, _ := io.ReadAll(got.Body)
	if got.StatusCode != http.StatusOK {
		t.Fatalf("presigned GET answered %d: %s", got.StatusCode, data)
	}
	return data
}

func TestChunkedUpload(t *testing.T) {
	// A part size of 5 MiB and 2 MiB chunks: parts are assembled across
	// PATCHes, and out-of-order chunks are refused.
	env := newTestEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.PartSize = uploads.MinPartSize }})
	data := randomBytes(13 << 20)
	d := digestOf(data)
	loc := env.startSession(t, env.alice, "alice.test/app")

	const step = 2 << 20
	for off := 0; off < len(data); off += step {
		n := min(step, len(data)-off)
		if off == 4*step {
			// Out of order: skips ahead. 416, with where to resume.
			resp := env.call(t, env.alice, http.MethodPatch, loc, data[off+n:off+2*n], chunk(off+n, n))
			if resp.Header.Get("Range") != fmt.Sprintf("0-%d", off-1) {
				t.Fatalf("416 Range %q", resp.Header.Get("Range"))
			}
			expectError(t, resp, http.StatusRequestedRangeNotSatisfiable, "RANGE_INVALID")
			status := env.call(t, env.alice, http.MethodGet, loc, nil, nil)
			expectStatus(t, status, http.StatusNoContent)
			if status.Header.Get("Range") != fmt.Sprintf("0-%d", off-1) {
				t.Fatalf("status Range %q", status.Header.Get("Range"))
			}
		}
		resp := env.call(t, env.alice, http.MethodPatch, loc, data[off:off+n], chunk(off, n))
		expectStatus(t, resp, http.StatusAccepted)
		if resp.Header.Get("Range") != fmt.Sprintf("0-%d", off+n-1) {
			t.Fatalf("PATCH Range %q after %d bytes", resp.Header.Get("Range"), off+n)
		}
		loc = resp.Header.Get("Location")
	}
	resp := env.call(t, env.alice, http.MethodPut, loc+"?digest="+d.String(), nil, nil)
	expectStatus(t, resp, http.StatusCreated)
	if resp.Header.Get("Location") != "/v2/alice.test/app/blobs/"+d.String() || resp.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("PUT headers %v", resp.Header)
	}
	if c := env.Hold.Completed(); len(c) != 1 || c[0].Parts != 3 || c[0].Size != int64(len(data)) {
		t.Fatalf("completed uploads %+v, want 3 parts (5+5+3 MiB)", c)
	}

	head := env.call(t, env.alice, http.MethodHead, "/v2/alice.test/app/blobs/"+d.String(), nil, nil)
	expectStatus(t, head, http.StatusOK)
	if head.Header.Get("Content-Length") != fmt.Sprint(len(data)) || head.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("HEAD headers %v", head.Header)
	}
	if got := env.fetchBlob(t, "alice.test/app", d); string(got) != string(data) {
		t.Fatal("downloaded bytes differ")
	}
	// The session is gone.
	expectError(t, env.call(t, env.alice, http.MethodGet, loc, nil, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestUploadForms(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	repo := "alice.test/app"
	cases := []struct {
		name string
		data []byte
		push func(t *testing.T, data []byte, d oci.Digest) *http.Response
	}{
		{"monolithic POST", randomBytes(1000), func(t *testing.T, data []byte, d oci.Digest) *http.Response {
			return env.call(t, env.alice, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), data, nil)
		}},
		{"POST then PUT with body", randomBytes(1000), func(t *testing.T, data []byte, d oci.Digest) *http.Response {
			loc := env.startSession(t, env.alice, repo)
			return env.call(t, env.alice, http.MethodPut, loc+"?digest="+d.String(), data, nil)
		}},
		{"PATCH then PUT with last chunk", randomBytes(1000), func(t *testing.T, data []byte, d oci.Digest) *http.Response {
			loc := env.startSession(t, env.alice, repo)
			expectStatus(t, env.call(t, env.alice, http.MethodPatch, loc, data[:600], chunk(0, 600)), http.StatusAccepted)
			return env.call(t, env.alice, http.MethodPut, loc+"?digest="+d.String(), data[600:], chunk(600, 400))
		}},
		{"zero-length blob", []byte{}, func(t *testing.T, data []byte, d oci.Digest) *http.Response {
			loc := env.startSession(t, env.alice, repo)
			return env.call(t, env.alice, http.MethodPut, loc+"?digest="+d.String(), nil, nil)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := digestOf(c.data)
			expectStatus(t, c.push(t, c.data, d), http.StatusCreated)
			if !env.Hold.HasBlob(t, d) {
				t.Fatal("blob not on the hold")
			}
			if got := env.fetchBlob(t, repo, d); string(got) != string(c.data) {
				t.Fatal("downloaded bytes differ")
			}
		})
	}
}

func TestUploadDigestMismatchStoresNothing(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	data := randomBytes(4096)
	claimed := digestOf([]byte("something else"))
	resp := env.call(t, env.alice, http.MethodPost, "/v2/alice.test/app/blobs/uploads/?digest="+claimed.String(), data, nil)
	expectError(t, resp, http.StatusBadRequest, "DIGEST_INVALID")
	if env.Hold.HasBlob(t, claimed) || env.Hold.HasBlob(t, digestOf(data)) {
		t.Fatal("content stored after a digest mismatch")
	}
	expectError(t, env.call(t, env.alice, http.MethodHead, "/v2/alice.test/app/blobs/"+claimed.String(), nil, nil),
		http.StatusNotFound, "BLOB_UNKNOWN")

	// Chunked: the session ends with the mismatch.
	loc := env.startSession(t, env.alice, "alice.test/app")
	expectStatus(t, env.call(t, env.alice, http.MethodPatch, loc, data, chunk(0, len(data))), http.StatusAccepted)
	expectError(t, env.call(t, env.alice, http.MethodPut, loc+"?digest="+claimed.String(), nil, nil), http.StatusBadRequest, "DIGEST_INVALID")
	expectError(t, env.call(t, env.alice, http.MethodGet, loc, nil, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	if env.Hold.HasBlob(t, claimed) {
		t.Fatal("content stored under the claimed digest")
	}
	// A malformed digest is refused before anything happens.
	expectError(t, env.call(t, env.alice, http.MethodPost, "/v2/alice.test/app/blobs/uploads/?digest=sha256:zz", data, nil),
		http.StatusBadRequest, "DIGEST_INVALID")
	expectError(t, env.call(t, env.alice, http.MethodHead, "/v2/alice.test/app/blobs/md5:abc", nil, nil),
		http.StatusBadRequest, "DIGEST_INVALID")
}

func TestUploadCancelAbortsOnHold(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	loc := env.startSession(t, env.alice, "alice.test/app")
	expectStatus(t, env.call(t, env.alice, http.MethodPatch, loc, randomBytes(100), nil), http.StatusAccepted)
	if env.Hold.OpenUploads() != 1 {
		t.Fatalf("%d open uploads on the hold", env.Hold.OpenUploads())
	}
	// Only in its own repository, and only for its owner's repository.
	other := strings.Replace(loc, "/alice.test/app/", "/alice.test/other/", 1)
	expectError(t, env.call(t, env.alice, http.MethodGet, other, nil, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	expectStatus(t, env.call(t, env.alice, http.MethodDelete, loc, nil, nil), http.StatusNoContent)
	if env.Hold.OpenUploads() != 0 || env.Hold.Calls("io.atcr.hold.abortUpload") != 1 {
		t.Fatalf("hold: %d open uploads, %d aborts", env.Hold.OpenUploads(), env.Hold.Calls("io.atcr.hold.abortUpload"))
	}
	expectError(t, env.call(t, env.alice, http.MethodPatch, loc, randomBytes(10), nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestMount(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	data := randomBytes(2000)
	d := env.pushBlob(t, env.alice, "alice.test/src", data)

	resp := env.call(t, env.alice, http.MethodPost, "/v2/alice.test/dst/blobs/uploads/?mount="+d.String()+"&from=alice.test/src", nil, nil)
	expectStatus(t, resp, http.StatusCreated)
	if resp.Header.Get("Location") != "/v2/alice.test/dst/blobs/"+d.String() || resp.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("mount headers %v", resp.Header)
	}
	// Without from (anonymous mount) the push hold decides too.
	expectStatus(t, env.call(t, env.alice, http.MethodPost, "/v2/alice.test/dst/blobs/uploads/?mount="+d.String(), nil, nil), http.StatusCreated)

	// Unknown blob: falls back to a normal session.
	unknown := digestOf([]byte("nope"))
	resp = env.call(t, env.alice, http.MethodPost, "/v2/alice.test/dst/blobs/uploads/?mount="+unknown.String()+"&from=bob.test/x", nil, nil)
	expectStatus(t, resp, http.StatusAccepted)
	if resp.Header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("fallback headers %v", resp.Header)
	}
	// The mounts left no session open on the hold (the fallback's is).
	if open := env.Hold.OpenUploads(); open != 1 {
		t.Fatalf("%d upload sessions open on the hold, want the fallback's 1", open)
	}

	// An account the push hold does not let write gets the upload's
	// answer, 403, not a 201 for a blob its manifest could never use.
	env.Hold.SetCrew(env.alice.DID)
	for _, q := range []string{"mount=" + d.String() + "&from=alice.test/src", "mount=" + d.String()} {
		expectError(t, env.call(t, env.bob, http.MethodPost, "/v2/bob.test/dst/blobs/uploads/?"+q, nil, nil), http.StatusForbidden, "DENIED")
	}
}

func TestBlobErrors(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d := env.pushBlob(t, env.alice, "alice.test/app", randomBytes(10))
	unknown := digestOf([]byte("unknown"))
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/blobs/"+unknown.String(), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectError(t, env.call(t, storagetest.User{}, http.MethodHead, "/v2/alice.test/app/blobs/"+unknown.String(), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectError(t, env.call(t, env.alice, http.MethodDelete, "/v2/alice.test/app/blobs/"+unknown.String(), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectError(t, env.call(t, env.alice, http.MethodDelete, "/v2/alice.test/app/blobs/sha256:abc", nil, nil), http.StatusBadRequest, "DIGEST_INVALID")
	expectStatus(t, env.call(t, env.alice, http.MethodHead, "/v2/alice.test/app/blobs/"+d.String(), nil, nil), http.StatusOK)
	resp := env.call(t, env.alice, http.MethodPatch, "/v2/alice.test/app/blobs/uploads/not-a-session", randomBytes(5), nil)
	expectError(t, resp, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestHoldUnreachable(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d := env.pushBlob(t, env.alice, "alice.test/app", randomBytes(10))
	env.Hold.SetDown(true)
	expectUpstream(t, env.call(t, env.alice, http.MethodPost, "/v2/alice.test/app/blobs/uploads/", nil, nil), "hold")
	other := digestOf([]byte("not cached"))
	expectUpstream(t, env.call(t, storagetest.User{}, http.MethodHead, "/v2/alice.test/app/blobs/"+other.String(), nil, nil), "hold")
	expectUpstream(t, env.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/blobs/"+d.String(), nil, nil), "hold")
}

func TestUploadPartFallback(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.PartSize = uploads.MinPartSize }})
	env.Hold.SetNoPresign(true)
	data := randomBytes(6 << 20)
	d := env.pushBlob(t, env.alice, "alice.test/app", data)
	if n := env.Hold.Calls("io.atcr.hold.uploadPart"); n != 2 {
		t.Fatalf("%d uploadPart calls, want 2", n)
	}
	if got := env.fetchBlob(t, "alice.test/app", d); string(got) != string(data) {
		t.Fatal("downloaded bytes differ")
	}
}

// An upload the hold refuses for quota at completion is gone on the hold:
// the AppView drops its session too, so refused pushes do not pile up in
// the user's session slots (crane never DELETEs its sessions: each refused
// push kept two of the 100 for an hour, until pushes got 429).
func TestUploadRefusedForQuotaEndsTheSession(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.Hold.SetCompleteOverQuota(true)
	data := randomBytes(4096)
	loc := env.startSession(t, env.alice, "alice.test/app")
	expectStatus(t, env.call(t, env.alice, http.MethodPatch, loc, data, chunk(0, len(data))), http.StatusAccepted)
	expectError(t, env.call(t, env.alice, http.MethodPut, loc+"?digest="+digestOf(data).String(), nil, nil), http.StatusForbidden, "DENIED")
	expectError(t, env.call(t, env.alice, http.MethodGet, loc, nil, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	if env.Hold.HasBlob(t, digestOf(data)) {
		t.Fatal("a blob refused for quota is stored")
	}
}

// A database that fails (PostgreSQL down) is an outage to retry: a blob
// HEAD and a monolithic push answer 503 UNAVAILABLE with Retry-After, not
// 500 as for a registry bug.
func TestDatabaseDownIsUnavailable(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d := env.pushBlob(t, env.alice, "alice.test/app", randomBytes(100))
	if err := env.DB.Close(); err != nil {
		t.Fatal(err)
	}
	// Another repository: its unlink answer is not cached.
	resp := env.call(t, env.alice, http.MethodHead, "/v2/alice.test/other/blobs/"+d.String(), nil, nil)
	expectStatus(t, resp, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	data := randomBytes(200)
	expectError(t, env.call(t, env.alice, http.MethodPost, "/v2/alice.test/app/blobs/uploads/?digest="+digestOf(data).String(), data, nil),
		http.StatusServiceUnavailable, "UNAVAILABLE")
}
