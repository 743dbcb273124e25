package holdclient

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/safehttp"
)

// TestBlackholedPartPutIsCutOff: an S3 endpoint that accepts the part
// PUT's connection and then neither reads nor answers (a blackhole) fails
// the send once it has made no progress for the stall timeout, as a hold
// failure, instead of holding the client's PATCH for partPutTimeout
// (ten minutes).
func TestBlackholedPartPutIsCutOff(t *testing.T) {
	c, err := New(Options{Directory: identity.NewMockDirectory(), Tokens: noTokens{},
		HTTP: safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	c.partStall = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never read, until the test ends
		}
	}()

	// The test's own deadline is far beyond the stall timeout: only the
	// guard can end the send before it.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, size := range []int{4 << 10, 32 << 20} { // all in the socket buffers; more than they hold
		target := atcr.HoldGetPartUploadURL_Output{URL: "http://" + ln.Addr().String() + "/bucket/key?partNumber=1"}
		_, err = c.putPart(ctx, Hold{DID: "did:web:hold.test"}, target, make([]byte, size))
		if !errors.Is(err, errPartStalled) || !errors.Is(err, registry.ErrHoldUnavailable) {
			t.Fatalf("%d-byte part to a blackhole: %v, want a stalled send (ErrHoldUnavailable)", size, err)
		}
	}
}
