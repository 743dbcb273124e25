package holdoci

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/gc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// TestCompleteUploadCountsUnannouncedBytesAgainstQuota [H1]: a completed
// blob counts against its owner's quota from completion on, before any
// manifest names it. An upload that would exceed the quota is refused at
// completeUpload with QuotaExceeded and leaves nothing behind (no blob,
// no session); once a notification records a blob, it counts once (as
// usage, no longer as pending).
func TestCompleteUploadCountsUnannouncedBytesAgainstQuota(t *testing.T) {
	e := newEnv(t)
	e.quota.setLimit(5000)
	first, second := randomBytes(130, 3000), randomBytes(131, 3000)
	a := e.storeBlob(t, alice, oci.SHA256, first)

	id, parts := e.pushPresigned(t, alice, second, len(second))
	b := oci.FromBytes(oci.SHA256, second)
	wantError(t, e.complete(t, alice, id, b.String(), parts), http.StatusBadRequest, atcr.ErrorQuotaExceeded)
	e.wantNoObject(t, s3.BlobKey(b))
	wantError(t, e.complete(t, alice, id, b.String(), parts), http.StatusBadRequest, atcr.ErrorInvalidUploadId)

	// Bob's quota is his own.
	e.storeBlob(t, bob, oci.SHA256, second)

	// Recorded, a counts as usage and no longer as pending: a manifest of
	// a alone is 3000 of 5000, and a 1500-byte blob still fits.
	out := e.notify(t, alice, notifyInput(manifestURIOf(alice, "3ksssssssss22"), "", oci.Digest{}, a))
	if *out.QuotaUsed != 3000 {
		t.Fatalf("usage after the notification: %d, want 3000", *out.QuotaUsed)
	}
	e.storeBlob(t, alice, oci.SHA256, randomBytes(132, 1500))
}

// TestUploadSessionsBoundedPerUser [M2]: a user may hold MaxSessionsPerUser
// sessions; one more is 429 RateLimitExceeded with Retry-After. A session
// without parts expires after EmptySessionTTL, one with a part lives the
// full SessionTTL.
func TestUploadSessionsBoundedPerUser(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.modify = func(o *Options) { o.MaxSessionsPerUser = 2; o.EmptySessionTTL = 10 * time.Minute }
	})
	withPart := e.initiate(t, alice, "")
	e.sendPart(t, alice, withPart, 1, randomBytes(133, 100))
	empty := e.initiate(t, alice, "")
	resp := e.post(t, alice, atcr.HoldInitiateUploadNSID, atcr.HoldInitiateUpload_Input{})
	wantError(t, resp, http.StatusTooManyRequests, "RateLimitExceeded")
	if resp.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	e.initiate(t, bob, "") // bob's own budget

	e.clock.Advance(11 * time.Minute)
	if _, err := e.h.SweepExpired(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.sessions.get(t.Context(), empty); err == nil {
		t.Fatal("the empty session outlived EmptySessionTTL")
	}
	if _, err := e.h.sessions.get(t.Context(), withPart); err != nil {
		t.Fatalf("the session with a part was swept: %v", err)
	}
	e.initiate(t, alice, "") // room again
}

// TestUploadPartBoundsStagedBytesPerUser [M2]: bytes a user stages through
// uploadPart are bounded across their open sessions.
func TestUploadPartBoundsStagedBytesPerUser(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.modify = func(o *Options) { o.DisablePresignedUploads = true; o.MaxStagedBytesPerUser = 8 * mib }
	})
	one, two := e.initiate(t, alice, ""), e.initiate(t, alice, "")
	// Asked with its size first, as the AppView does: the URL is the
	// hold's own uploadPart, and the part counts once, when it is sent.
	if u := e.partURL(t, alice, one, 1, 5*mib); !strings.Contains(u, "/xrpc/"+atcr.HoldUploadPartNSID) {
		t.Fatalf("part URL without presigning: %s", u)
	}
	if r := e.holdPart(t, alice, http.MethodPut, one, 1, randomBytes(134, 5*mib)); r.status != http.StatusOK {
		t.Fatalf("first part: %d %s", r.status, r.message)
	}
	wantError(t, e.holdPart(t, alice, http.MethodPut, two, 1, randomBytes(135, 5*mib)), http.StatusBadRequest, atcr.ErrorQuotaExceeded)
	if r := e.holdPart(t, bob, http.MethodPut, e.initiate(t, bob, ""), 1, randomBytes(136, 5*mib)); r.status != http.StatusOK {
		t.Fatalf("bob's part: %d %s", r.status, r.message)
	}
}

// TestPresignedPartsBoundStagedBytesPerUser [M2]: a presigned part URL is
// handed out only for a stated size, counted against the user's staged
// bytes like an uploadPart body (before, presigned parts counted 0 bytes
// and S3 took any length).
func TestPresignedPartsBoundStagedBytesPerUser(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.modify = func(o *Options) { o.MaxStagedBytesPerUser = 8 * mib }
	})
	one, two := e.initiate(t, alice, ""), e.initiate(t, alice, "")
	e.partURL(t, alice, one, 1, 5*mib)
	size := int64(5 * mib)
	wantError(t, e.post(t, alice, atcr.HoldGetPartUploadURLNSID, atcr.HoldGetPartUploadURL_Input{UploadID: two, PartNumber: 1, Size: &size}),
		http.StatusBadRequest, atcr.ErrorQuotaExceeded)
	e.partURL(t, alice, two, 1, 3*mib) // what is left
	e.partURL(t, bob, e.initiate(t, bob, ""), 1, 5*mib)
}

// stallingBody sends a few bytes and then nothing until the test ends.
type stallingBody struct {
	sent bool
	stop chan struct{}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "0123456789"), nil
	}
	<-b.stop
	return 0, io.EOF
}

// TestUploadPartStalledBodyTimesOut [L1]: an uploadPart body that stops
// arriving is cut off after PartIdleTimeout with 400 and its spool file
// removed, instead of holding a goroutine and a file forever.
func TestUploadPartStalledBodyTimesOut(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.modify = func(o *Options) { o.DisablePresignedUploads = true; o.PartIdleTimeout = 50 * time.Millisecond }
	})
	id := e.initiate(t, alice, "")
	body := &stallingBody{stop: make(chan struct{})}
	defer close(body.stop)
	q := url.Values{"uploadId": {id}, "partNumber": {strconv.Itoa(1)}}
	resp := e.do(t, alice, http.MethodPut, "/xrpc/"+atcr.HoldUploadPartNSID+"?"+q.Encode(), body, 1000)
	wantError(t, resp, http.StatusBadRequest, atcr.ErrorInvalidRequest)
	if files, err := dirEntries(filepath.Join(e.opts.DataDir, spoolDirName)); err != nil || len(files) != 0 {
		t.Fatalf("spool after the timeout: %v, %v", files, err)
	}
}

// TestUploadsDatabaseIsPrivate [L3]: uploads.sqlite (owner DIDs, S3 upload
// IDs) is created 0600.
func TestUploadsDatabaseIsPrivate(t *testing.T) {
	e := newEnv(t)
	info, err := os.Stat(filepath.Join(e.opts.DataDir, sessionsFileName))
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Fatalf("uploads.sqlite mode %o, want 600", mode)
	}
}

// TestRepushRepairsATornBlob [M4]: a stored object whose bytes do not match
// its content-addressed key (a torn write after a crash) is replaced by
// the next verified upload of the same digest: when its size differs
// always, when only its bytes differ if RehashExisting is on (the embedded
// server).
func TestRepushRepairsATornBlob(t *testing.T) {
	for name, tc := range map[string]struct {
		rehash bool
		torn   func([]byte) []byte
	}{
		"truncated": {false, func(b []byte) []byte { return b[:len(b)/2] }},
		"same size": {true, func(b []byte) []byte { c := append([]byte(nil), b...); c[10] ^= 0xff; return c }},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *envConfig) { c.modify = func(o *Options) { o.RehashExisting = tc.rehash } })
			data := randomBytes(137, 64*1024)
			d := oci.FromBytes(oci.SHA256, data)
			if err := e.svc.PutBytes(t.Context(), s3.BlobKey(d), tc.torn(data)); err != nil {
				t.Fatal(err)
			}
			e.storeBlob(t, alice, oci.SHA256, data)
			e.wantBlob(t, d, data)
		})
	}
}

// TestCollectedBlobNoLongerCountsAsPending: a blob completed by a push that
// never recorded a manifest counts against its owner's quota as pending;
// once garbage collection deletes it, it no longer does (it counted for
// the rest of the session TTL, refusing pushes that fit).
func TestCollectedBlobNoLongerCountsAsPending(t *testing.T) {
	e := newEnv(t)
	e.quota.setLimit(5000)
	e.storeBlob(t, alice, oci.SHA256, randomBytes(140, 3000)) // never named by a manifest
	next := randomBytes(141, 3000)
	id, parts := e.pushPresigned(t, alice, next, len(next))
	wantError(t, e.complete(t, alice, id, oci.FromBytes(oci.SHA256, next).String(), parts), http.StatusBadRequest, atcr.ErrorQuotaExceeded)

	col, err := gc.New(gc.Config{Records: e.pds, Blobs: e.svc, Pins: e.h, GracePeriod: time.Hour, Logger: quietLogger(),
		Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := col.Run(t.Context(), gc.Options{}); err != nil || r.Deleted != 1 {
		t.Fatalf("GC past the grace window: %+v, %v; want the unnamed blob deleted", r, err)
	}
	e.storeBlob(t, alice, oci.SHA256, next) // fits now: 3000 of 5000
}
