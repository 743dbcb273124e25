package actas

import (
	"net/http"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/keyedmutex"
)

// One write at a time to each account's repository. A PDS commits to one
// repository one write at a time anyway: the reference PDS opens the
// account's SQLite database per request, and a write transaction that
// finds another one under way fails with SQLITE_BUSY and is started over
// from the beginning after a back-off (1, 2, 5, 10 … ms, up to 5 s). Eight
// concurrent pushes to one account made it spend more than half its CPU on
// attempts thrown away (74 ms of PDS CPU per push/pull cycle against 30 ms
// with the writes sent one at a time; the stress run took 17.0 s against
// 9.7 s, docs/benchmarks.md). So every PDS client the Chooser hands out
// sends its repository writes through a per-account lock, held until the
// PDS answers; reads are not held back. Writes through another AppView of
// a cluster are not ordered against this one's: the PDS still retries
// those.

// repoWriteMethods are the procedures that write to the caller's
// repository database.
var repoWriteMethods = map[string]bool{
	"com.atproto.repo.applyWrites":  true,
	"com.atproto.repo.createRecord": true,
	"com.atproto.repo.putRecord":    true,
	"com.atproto.repo.deleteRecord": true,
	"com.atproto.repo.uploadBlob":   true,
	"com.atproto.repo.importRepo":   true,
}

// serialWrites is an http.RoundTripper that sends one account's
// repository writes one at a time.
type serialWrites struct {
	base  http.RoundTripper
	did   string
	locks *keyedmutex.Map
}

// RoundTrip implements http.RoundTripper.
func (t *serialWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !repoWriteMethods[strings.TrimPrefix(req.URL.Path, "/xrpc/")] {
		return t.base.RoundTrip(req)
	}
	unlock, err := t.locks.LockContext(req.Context(), t.did)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, err
	}
	// The PDS has committed (or refused) when it answers; reading the
	// answer's body needs no lock.
	defer unlock()
	return t.base.RoundTrip(req)
}

// serialised returns a shallow copy of api whose repository writes go
// through did's lock in locks. api itself, which a source may share
// between calls, is not changed.
func serialised(api *atclient.APIClient, did syntax.DID, locks *keyedmutex.Map) *atclient.APIClient {
	hc := http.Client{}
	if api.Client != nil {
		hc = *api.Client
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &serialWrites{base: base, did: did.String(), locks: locks}
	out := *api
	out.Client = &hc
	return &out
}
