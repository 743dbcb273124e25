package holdoci

import (
	"context"
	"net/http"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/gc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// gcGrace is the grace period of the collectors in these tests.
const gcGrace = time.Hour

// newGCEnv is an environment whose clock starts two grace periods after
// now: every blob stored in the test is "old" to the collector, which
// shares the clock (so do the pins the hold writes).
func newGCEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnv(t, func(c *envConfig) { c.clockStart = time.Now().Add(2 * gcGrace) })
}

// collector is a garbage collector over the environment's repository and
// bucket with the handlers as its pins, on the environment's clock.
func (e *testEnv) collector(t *testing.T, pins gc.Pins) *gc.Collector {
	t.Helper()
	if pins == nil {
		pins = e.h
	}
	c, err := gc.New(gc.Config{Records: e.pds, Blobs: e.svc, Pins: pins, GracePeriod: gcGrace,
		Logger: quietLogger(), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pull fetches the blob as a client would: getBlob's 307, then the bytes.
func (e *testEnv) pull(t *testing.T, d oci.Digest, want []byte) {
	t.Helper()
	resp := e.getBlob(t, alice, http.MethodGet, d)
	if resp.status != http.StatusTemporaryRedirect {
		t.Fatalf("pull %s: %d %s %s", d, resp.status, resp.errName, resp.message)
	}
	status, body := fetch(t, resp.header.Get("Location"))
	if status != http.StatusOK || oci.FromBytes(d.Algorithm(), body) != d || len(body) != len(want) {
		t.Fatalf("pull %s: %d, %d bytes", d, status, len(body))
	}
}

// TestGCKeepsBlobsAPushReliesOn [H2]: an old blob no layer record names is
// garbage to the collector — unless a push is using it. A push that finds
// it with a HEAD (also how a cross-repo mount reaches the hold), one that
// uploads it again, and one with an upload session naming it all keep it
// through a collection that runs between that step and the manifest; the
// manifest is then recorded and the blob pulls. The same blob with no push
// using it is collected (the test can fail).
func TestGCKeepsBlobsAPushReliesOn(t *testing.T) {
	for name, step := range map[string]func(*testing.T, *testEnv, oci.Digest, []byte){
		"HEAD": func(t *testing.T, e *testEnv, d oci.Digest, _ []byte) {
			if r := e.getBlob(t, alice, http.MethodHead, d); r.status != http.StatusOK {
				t.Fatalf("HEAD: %d", r.status)
			}
		},
		"re-upload": func(t *testing.T, e *testEnv, d oci.Digest, data []byte) {
			e.storeBlob(t, alice, oci.SHA256, data)
		},
		"open session": func(t *testing.T, e *testEnv, d oci.Digest, _ []byte) {
			e.initiate(t, alice, d.String())
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newGCEnv(t)
			data := randomBytes(120, 4096)
			d := e.putBlob(t, 120, 4096) // stored long ago, nobody's any more
			step(t, e, d, data)
			rep, err := e.collector(t, nil).Run(t.Context(), gc.Options{})
			if err != nil || rep.Deleted != 0 {
				t.Fatalf("GC during the push: %+v, %v; want nothing deleted", rep, err)
			}
			e.notify(t, alice, notifyInput(manifestURIOf(alice, "3kqqqqqqqqq22"), "v1", oci.Digest{}, d))
			e.pull(t, d, data)
		})
	}
	t.Run("no push", func(t *testing.T) {
		e := newGCEnv(t)
		d := e.putBlob(t, 121, 4096)
		if rep, err := e.collector(t, nil).Run(t.Context(), gc.Options{}); err != nil || rep.Deleted != 1 {
			t.Fatalf("GC: %+v, %v; want the orphan deleted", rep, err)
		}
		e.wantNoObject(t, s3.BlobKey(d))
	})
}

// lockSpy reports when the collector reaches LockBlobs.
type lockSpy struct {
	*Handlers
	reached chan struct{}
}

func (s lockSpy) LockBlobs() func() {
	s.reached <- struct{}{}
	return s.Handlers.LockBlobs()
}

// TestNotifyManifestAndGCInterleaved [H2]: a collection that starts while
// notifyManifest is between the stat of its blobs and the commit of their
// layer records cannot delete those blobs: its final check waits for the
// commit and then sees the records. (Without the blob guard the collector
// never waits: the hook below lets it run to completion, and it deletes
// the blob before the record is written.)
func TestNotifyManifestAndGCInterleaved(t *testing.T) {
	e := newGCEnv(t)
	data := randomBytes(122, 2048)
	d := e.putBlob(t, 122, 2048)
	spy := lockSpy{Handlers: e.h, reached: make(chan struct{}, 1)}
	col := e.collector(t, spy)
	done := make(chan gc.Report, 1)
	e.h.afterStat = func() {
		e.h.afterStat = nil
		go func() {
			rep, err := col.Run(context.Background(), gc.Options{})
			if err != nil {
				t.Error(err)
			}
			done <- rep
		}()
		// Either the collector blocks on the guard this notification holds,
		// or (unguarded) it finishes.
		select {
		case <-spy.reached:
		case rep := <-done:
			done <- rep
		}
	}
	var out atcr.HoldNotifyManifest_Output
	e.owner.putManifest(t, manifestURIOf(alice, "3krrrrrrrrr22"), notifyInput(manifestURIOf(alice, "3krrrrrrrrr22"), "", oci.Digest{}, d))
	e.call(t, alice, atcr.HoldNotifyManifestNSID, notifyInput(manifestURIOf(alice, "3krrrrrrrrr22"), "", oci.Digest{}, d), &out)
	if rep := <-done; rep.Deleted != 0 || rep.Referenced != 1 {
		t.Fatalf("GC interleaved with the notification: %+v; want the blob referenced, nothing deleted", rep)
	}
	e.pull(t, d, data)
}
