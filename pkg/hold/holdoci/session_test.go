package holdoci

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

func TestRestartMidUpload(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(10, 5*mib+1024)
	d := oci.FromBytes(oci.SHA256, data)
	id := e.initiate(t, alice, "")
	etag1 := e.sendPart(t, alice, id, 1, data[:5*mib])

	e.restart(t)
	// The session, its owner and its S3 upload survived: the next part and
	// the completion go through the new process.
	etag2 := e.sendPart(t, alice, id, 2, data[5*mib:])
	wantError(t, e.complete(t, bob, id, d.String(), []part{{PartNumber: 1, ETag: etag1}}), http.StatusBadRequest, atcr.ErrorInvalidUploadId)
	resp := e.complete(t, alice, id, d.String(), []part{{PartNumber: 1, ETag: etag1}, {PartNumber: 2, ETag: etag2}})
	if resp.status != http.StatusOK {
		t.Fatalf("complete after restart: %d %s %s", resp.status, resp.errName, resp.message)
	}
	e.wantBlob(t, d, data)
}

// A crash after S3 assembled the parts but before the hold noted it: the
// retry finds the multipart upload gone and the staging object present, and
// finishes the job.
func TestCompleteAfterAssembledByEarlierAttempt(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(11, 2048)
	d := oci.FromBytes(oci.SHA256, data)
	id, parts := e.pushPresigned(t, alice, data, len(data))
	sess, err := e.h.sessions.get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CompleteMultipartUpload(t.Context(), stagingKey(t, id), sess.S3UploadID,
		[]s3.Part{{Number: 1, ETag: parts[0].ETag}}); err != nil {
		t.Fatal(err)
	}
	e.restart(t)
	resp := e.complete(t, alice, id, d.String(), parts)
	if resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	e.wantBlob(t, d, data)
	e.wantNoObject(t, stagingKey(t, id))
}

func TestConcurrentCompletesSucceedOnce(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(12, 64*1024)
	d := oci.FromBytes(oci.SHA256, data)
	id, parts := e.pushPresigned(t, alice, data, len(data))
	statuses := make([]string, 4)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			resp := e.complete(t, alice, id, d.String(), parts)
			statuses[i] = resp.errName
			if resp.status == http.StatusOK {
				statuses[i] = "ok"
			}
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	want := []string{atcr.ErrorInvalidUploadId, atcr.ErrorInvalidUploadId, atcr.ErrorInvalidUploadId, "ok"}
	if !slices.Equal(statuses, want) {
		t.Fatalf("outcomes %v, want %v", statuses, want)
	}
	e.wantBlob(t, d, data)
}

func TestExpiredSessionIsSwept(t *testing.T) {
	e := newEnv(t)
	id := e.initiate(t, alice, "")
	data := randomBytes(13, 1024)
	etag := e.sendPart(t, alice, id, 1, data)
	sess, err := e.h.sessions.get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(time.Hour) // exactly the TTL
	fresh := e.initiate(t, bob, "")
	wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, atcr.HoldGetPartUploadURL_Input{UploadID: id, PartNumber: 2}),
		http.StatusBadRequest, atcr.ErrorUploadExpired)
	wantError(t, e.holdPart(t, alice, http.MethodPost, id, 2, data), http.StatusBadRequest, atcr.ErrorUploadExpired)
	wantError(t, e.complete(t, alice, id, oci.FromBytes(oci.SHA256, data).String(), []part{{PartNumber: 1, ETag: etag}}),
		http.StatusBadRequest, atcr.ErrorUploadExpired)
	// Expiry is told to the owner only.
	wantError(t, e.holdPart(t, bob, http.MethodPost, id, 2, data), http.StatusBadRequest, atcr.ErrorInvalidUploadId)

	n, err := e.h.SweepExpired(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("SweepExpired = %d, %v; want 1", n, err)
	}
	if _, err := e.svc.ListParts(t.Context(), stagingKey(t, id), sess.S3UploadID); !errorsIsNotFound(err) {
		t.Fatalf("ListParts of the swept upload: %v, want NoSuchUpload", err)
	}
	wantError(t, e.complete(t, alice, id, oci.FromBytes(oci.SHA256, data).String(), []part{{PartNumber: 1, ETag: etag}}),
		http.StatusBadRequest, atcr.ErrorInvalidUploadId)
	if _, err := e.h.sessions.get(t.Context(), fresh); err != nil {
		t.Fatalf("the unexpired session was swept too: %v", err)
	}
	if n, err := e.h.SweepExpired(t.Context()); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0", n, err)
	}
}

func TestSweeperLoop(t *testing.T) {
	e := newEnv(t)
	owners := []syntax.DID{alice, bob}
	ids := []string{e.initiate(t, alice, ""), e.initiate(t, bob, "")}
	var s3IDs []string
	for i, id := range ids {
		e.sendPart(t, owners[i], id, 1, []byte("part"))
		sess, err := e.h.sessions.get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		s3IDs = append(s3IDs, sess.S3UploadID)
	}
	e.clock.Advance(2 * time.Hour)
	e.h.Start(t.Context())
	e.h.Start(t.Context()) // a second Start is a no-op
	deadline := time.Now().Add(20 * time.Second)
	for {
		left, err := e.h.sessions.expiredBefore(t.Context(), e.clock.Now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still there after 20s", len(left))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.h.Stop()
	e.h.Stop()
	for i, id := range ids {
		if _, err := e.svc.ListParts(t.Context(), stagingKey(t, id), s3IDs[i]); !errorsIsNotFound(err) {
			t.Fatalf("upload %s still in S3: %v", id, err)
		}
	}
}
