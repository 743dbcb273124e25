package directory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/atproto/xrpc"
)

// plcDirectory is a directory over the given PLC server (http on loopback,
// as insecure_local_dev allows; the PLC path is indigo's production code).
func plcDirectory(t *testing.T, plcURL string, modify func(*Options)) identity.Directory {
	t.Helper()
	opts := Options{PLCURL: plcURL, HTTPClient: localClient(), InsecureLocalDev: true}
	if modify != nil {
		modify(&opts)
	}
	dir, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// plcDID is the n-th valid did:plc identifier.
func plcDID(n int) syntax.DID {
	const b32 = "abcdefghijklmnopqrstuvwxyz234567"
	id := []byte("aaaaaaaaaaaaaaaaaaaaaaaa")
	for i := len(id) - 1; n > 0; i-- {
		id[i] = b32[n%32]
		n /= 32
	}
	return syntax.DID("did:plc:" + string(id))
}

// TestDirectoryRejectsLargeDocuments [H3]: a DID document over 64 KiB is
// refused in production code paths too (here: PLC), not only by the local
// did:web resolver.
func TestDirectoryRejectsLargeDocuments(t *testing.T) {
	plc := newDocServer(t, false)
	doc, _ := didDoc(t, aliceDID, "", "http://127.0.0.1:2583")
	doc["alsoKnownAs"] = []string{"at://alice.test", "https://" + strings.Repeat("x", 70<<10)}
	plc.put("/"+aliceDID.String(), doc)
	small := plcDID(7)
	smallDoc, _ := didDoc(t, small, "", "http://127.0.0.1:2583")
	plc.put("/"+small.String(), smallDoc)
	dir := plcDirectory(t, plc.URL, nil)
	if _, err := dir.LookupDID(t.Context(), aliceDID); err == nil {
		t.Fatal("a 70 KiB DID document was accepted")
	}
	if _, err := dir.LookupDID(t.Context(), small); err != nil {
		t.Fatalf("a small document: %v", err)
	}
}

// TestDirectoryNegativeCache [M5]: a DID the PLC directory does not know is
// asked about once within NotFoundTTL, however often it is looked up.
func TestDirectoryNegativeCache(t *testing.T) {
	plc := newDocServer(t, false)
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	dir := plcDirectory(t, plc.URL, func(o *Options) { o.Now = clock.Now })
	unknown := plcDID(99)
	for range 5 {
		if _, err := dir.LookupDID(t.Context(), unknown); !errors.Is(err, identity.ErrDIDNotFound) {
			t.Fatalf("err = %v, want ErrDIDNotFound", err)
		}
	}
	if n := plc.requests.Load(); n != 1 {
		t.Fatalf("%d PLC requests for one unknown DID, want 1", n)
	}
	clock.Advance(DefaultNotFoundTTL)
	dir.LookupDID(t.Context(), unknown)
	if n := plc.requests.Load(); n != 2 {
		t.Fatalf("%d PLC requests after NotFoundTTL, want 2", n)
	}

}

// TestDirectoryCacheBoundedInBytes [H3]: many identities never make the
// cache's estimated size exceed CacheBytes.
func TestDirectoryCacheBoundedInBytes(t *testing.T) {
	plc := newDocServer(t, false)
	const n = 200
	for i := range n {
		doc, _ := didDoc(t, plcDID(i), "", "http://127.0.0.1:2583")
		doc["alsoKnownAs"] = []string{"https://" + strings.Repeat("y", 8<<10)} // 8 KiB each
		plc.put("/"+plcDID(i).String(), doc)
	}
	const budget = 256 << 10
	dir := plcDirectory(t, plc.URL, func(o *Options) { o.CacheBytes = budget })
	for i := range n {
		if _, err := dir.LookupDID(t.Context(), plcDID(i)); err != nil {
			t.Fatal(err)
		}
	}
	entries, bytes := dir.(*cacheDirectory).stats()
	if bytes > budget || entries >= n || entries == 0 {
		t.Fatalf("%d entries, %d bytes; want at most %d bytes", entries, bytes, budget)
	}
	if identitySize(&identity.Identity{AlsoKnownAs: []string{strings.Repeat("y", 8<<10)}}) < 8<<10 {
		t.Fatal("identitySize does not count the document")
	}
}

// TestDirectoryBeforeFetchGatesMisses [M5]: BeforeFetch is asked before
// every lookup that would leave the process, never for a cached answer; a
// refusal is returned as is and fetches nothing.
func TestDirectoryBeforeFetchGatesMisses(t *testing.T) {
	plc := newDocServer(t, false)
	doc, _ := didDoc(t, aliceDID, "", "http://127.0.0.1:2583")
	plc.put("/"+aliceDID.String(), doc)
	refuse := false
	calls := 0
	dir := plcDirectory(t, plc.URL, func(o *Options) {
		o.BeforeFetch = func(context.Context) error {
			calls++
			if refuse {
				return xrpc.RateLimitExceeded("slow down", time.Second)
			}
			return nil
		}
	})
	for range 3 {
		if _, err := dir.LookupDID(t.Context(), aliceDID); err != nil {
			t.Fatal(err)
		}
	}
	refuse = true
	var xe *xrpc.Error
	if _, err := dir.LookupDID(t.Context(), plcDID(5)); !errors.As(err, &xe) || xe.Status != http.StatusTooManyRequests {
		t.Fatalf("refused lookup: %v", err)
	}
	if calls != 2 || plc.requests.Load() != 1 {
		t.Fatalf("BeforeFetch called %d times, PLC asked %d times; want 2 and 1", calls, plc.requests.Load())
	}
}

// TestDirectoryCallerLeavingCancelsFetch [M5]: when the only caller of a
// lookup goes away, the outbound request is cancelled.
func TestDirectoryCallerLeavingCancelsFetch(t *testing.T) {
	cancelled := make(chan struct{})
	started := make(chan struct{})
	plc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(cancelled)
	}))
	defer plc.Close()
	dir := plcDirectory(t, plc.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	if _, err := dir.LookupDID(ctx, aliceDID); err == nil {
		t.Fatal("lookup succeeded")
	}
	<-cancelled // the PLC request ended because its context was cancelled
}
