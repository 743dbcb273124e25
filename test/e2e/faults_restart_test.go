//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"atcr.io/pkg/oci"
)

// faultChunk is the size of the chunks the restart tests PATCH: at least
// S3's 5 MiB minimum part, so each chunk leaves the AppView as a part and
// the upload is half on S3 when the restart comes.
const faultChunk = 6 << 20

// TestFaultAppViewRestartMidPush restarts the AppView (SIGTERM, as a deploy
// does) while a blob is half uploaded — its first part already on S3
// through the hold. Upload sessions live in AppView memory, so every
// request on the session answers 404 BLOB_UPLOAD_UNKNOWN, the answer that
// makes a client start the blob again; the AppView aborted the session on
// the hold as it stopped, so no multipart upload is left on S3 and nothing
// is stored or recorded; the push started again succeeds and pulls back
// bit-identical, also from an AppView restarted once more (a pull keeps
// nothing in the AppView that a restart could lose).
func TestFaultAppViewRestartMidPush(t *testing.T) {
	s := newFaultScene(t, "appview-restart")
	img := s.image(t, "v2", 2*faultChunk)
	layer := img.Blobs[1]
	requireSuccess(t, "upload the config", s.uploadBlob(s.PushTok, s.Path, img.Blobs[0]))
	session := s.openUpload(t, s.PushTok, s.Path, layer[:faultChunk])
	if n := s.Hold.openUploads(t); n != 1 {
		t.Fatalf("%d multipart uploads open on S3 while the blob is half sent, want 1", n)
	}

	s.AppView.restart(t)
	second := map[string]string{"Content-Type": "application/octet-stream",
		"Content-Range": fmt.Sprintf("%d-%d", faultChunk, 2*faultChunk-1)}
	for _, a := range []*faultAnswer{
		s.AppView.do("GET upload", http.MethodGet, session, s.PushTok, nil, nil),
		s.AppView.do("PATCH upload", http.MethodPatch, session, s.PushTok, layer[faultChunk:], second),
		s.AppView.do("PUT upload", http.MethodPut, withDigest(session, layer), s.PushTok, nil, nil),
	} {
		if code, _ := a.errorCode(); a.Err != nil || a.Status != http.StatusNotFound || code != "BLOB_UPLOAD_UNKNOWN" {
			t.Fatalf("%s after the restart: %s, want 404 BLOB_UPLOAD_UNKNOWN", a.Step, a)
		}
	}
	if n := s.Hold.openUploads(t); n != 0 {
		t.Errorf("%d multipart uploads left open on S3 after the AppView stopped, want 0 (aborted at shutdown)", n)
	}
	if head := s.AppView.do("HEAD blob", http.MethodHead, s.Path+"/blobs/"+oci.FromBytes(oci.SHA256, layer).String(), s.PushTok, nil, nil); !head.ok(http.StatusNotFound) {
		t.Errorf("the half-sent blob: %s, want 404", head)
	}
	s.requireRecords(t, s.Repo, s.Pushed...)

	s.pushOK(t, "the push started again", img)
	s.requireIntact(t)
	s.AppView.restart(t)
	s.requireIntact(t) // from a restarted AppView
}

// TestFaultHoldRestartMidUpload stops the hold while a blob is half
// uploaded (its first part on S3) and starts it again on the same data.
// While it is down, the next chunk and a pull answer 502/503 with
// Retry-After naming the hold, within faultBound, and the session rewinds
// to the last byte the hold has (the answer's Range says where to resume).
// Once the hold is back the restart is transparent: its upload sessions
// live in SQLite and its parts on S3, so the client resumes where the
// Range says, the upload completes with parts from before and after the
// restart, and the image pulls back bit-identical.
func TestFaultHoldRestartMidUpload(t *testing.T) {
	s := newFaultScene(t, "hold-restart")
	img := s.image(t, "v2", 3*faultChunk)
	layer := img.Blobs[1]
	requireSuccess(t, "upload the config", s.uploadBlob(s.PushTok, s.Path, img.Blobs[0]))
	session := s.openUpload(t, s.PushTok, s.Path, layer[:faultChunk])
	chunk := func(i int) (body []byte, hdr map[string]string) {
		return layer[i*faultChunk : (i+1)*faultChunk], map[string]string{"Content-Type": "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", i*faultChunk, (i+1)*faultChunk-1)}
	}
	resumeAt := fmt.Sprintf("0-%d", faultChunk-1)

	s.Hold.proc.stop(t)
	body, hdr := chunk(1)
	var patch, pull *faultAnswer
	faultConcurrently(
		func() { patch = s.AppView.do("PATCH upload", http.MethodPatch, session, s.PushTok, body, hdr) },
		func() { pull = s.pull(t, s.PullTok, s.V1) },
	)
	requireFaultAnswer(t, "a chunk while the hold is down", patch, "hold")
	requireFaultAnswer(t, "pull while the hold is down", pull, "hold")
	if got := patch.Header.Get("Range"); got != resumeAt {
		t.Errorf("the refused chunk's Range: %q, want %q (the session rewound to what the hold has)", got, resumeAt)
	}
	s.Hold.proc.start(t)

	status := s.AppView.do("GET upload", http.MethodGet, session, s.PushTok, nil, nil)
	if !status.ok(http.StatusNoContent) || status.Header.Get("Range") != resumeAt {
		t.Fatalf("the session once the hold is back: %s, Range %q, want 204 with Range %q", status, status.Header.Get("Range"), resumeAt)
	}
	for i := 1; i < 3; i++ {
		body, hdr := chunk(i)
		if a := s.AppView.do("PATCH upload", http.MethodPatch, session, s.PushTok, body, hdr); !a.ok(http.StatusAccepted) {
			t.Fatalf("chunk %d once the hold is back: %s", i, a)
		}
	}
	requireSuccess(t, "complete the upload", s.finishBlob(s.PushTok, session, layer))
	s.pushOK(t, "push the rest", img)
	s.requireIntact(t)
}
