package holdoci

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

// testHoldDID is the DID of the hold every test environment runs.
const testHoldDID = "did:web:hold.example.com"

// recordCID is the CID the fake owner PDS reports for every record.
const recordCID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"

// ownerPDS is a user's PDS as notifyManifest and notifyManifestDeleted see it: an anonymous
// com.atproto.repo.getRecord over real HTTP that answers like the
// reference PDS (400 RecordNotFound for a missing record).
type ownerPDS struct {
	srv *httptest.Server

	mu      sync.Mutex
	records map[string]map[string]any // "<did>/<collection>/<rkey>" → value
	fail    bool                      // answer 500
	bare404 bool                      // answer 404 without an XRPC error name
	calls   int
}

func newOwnerPDS(t testing.TB) *ownerPDS {
	t.Helper()
	p := &ownerPDS{records: map[string]map[string]any{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.calls++
		q := r.URL.Query()
		switch {
		case r.URL.Path != "/xrpc/com.atproto.repo.getRecord" || r.Header.Get("Authorization") != "":
			writeXRPC(w, http.StatusBadRequest, "InvalidRequest", "want an anonymous getRecord")
		case p.bare404:
			http.NotFound(w, r)
		case p.fail:
			writeXRPC(w, http.StatusInternalServerError, "InternalServerError", "down")
		case p.records[q.Get("repo")+"/"+q.Get("collection")+"/"+q.Get("rkey")] != nil:
			uri := "at://" + q.Get("repo") + "/" + q.Get("collection") + "/" + q.Get("rkey")
			_ = json.NewEncoder(w).Encode(map[string]any{"uri": uri, "cid": recordCID,
				"value": p.records[q.Get("repo")+"/"+q.Get("collection")+"/"+q.Get("rkey")]})
		default:
			writeXRPC(w, http.StatusBadRequest, "RecordNotFound", "Could not locate record")
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func writeXRPC(w http.ResponseWriter, status int, name, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": name, "message": msg})
}

// put makes the PDS serve the record at uri.
func (p *ownerPDS) put(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records[uri[len("at://"):]] = map[string]any{}
}

// putManifest makes the PDS serve an io.atcr.manifest record at uri that
// describes the manifest in (for this hold).
func (p *ownerPDS) putManifest(t testing.TB, uri string, in atcr.HoldNotifyManifest_Input) {
	t.Helper()
	rec := atcr.Manifest{
		Digest: in.ManifestDigest, MediaType: in.MediaType, Repository: in.Repository,
		SchemaVersion: 2, CreatedAt: "2026-03-01T12:00:00.000Z", HoldDID: testHoldDID,
	}
	conv := func(d atcr.HoldNotifyManifest_Descriptor) atcr.Manifest_BlobReference {
		return atcr.Manifest_BlobReference{Digest: d.Digest, Size: d.Size, MediaType: d.MediaType}
	}
	if in.Config != nil {
		c := conv(*in.Config)
		rec.Config = &c
	}
	for _, l := range in.Layers {
		rec.Layers = append(rec.Layers, conv(l))
	}
	p.putRecord(t, uri, &rec)
}

// putRecord makes the PDS serve rec at uri.
func (p *ownerPDS) putRecord(t testing.TB, uri string, rec *atcr.Manifest) {
	t.Helper()
	m, err := atcr.ToMap(rec)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records[uri[len("at://"):]] = m
}

// setValue changes one field of the record at uri.
func (p *ownerPDS) setValue(uri, field string, v any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records[uri[len("at://"):]][field] = v
}

func (p *ownerPDS) remove(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.records, uri[len("at://"):])
}

func (p *ownerPDS) setBare404(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bare404 = v
}

func (p *ownerPDS) setFail(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = v
}

func (p *ownerPDS) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// withOwnerPDS makes the environment's users' PDS p (instead of a fresh one).
func withOwnerPDS(p *ownerPDS) func(*envConfig) {
	return func(c *envConfig) { c.owner = p }
}

// ownerIdentity is a user whose DID document names p as their PDS.
func ownerIdentity(p *ownerPDS, did syntax.DID, handle syntax.Handle) identity.Identity {
	return identity.Identity{DID: did, Handle: handle, Services: map[string]identity.ServiceEndpoint{
		"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: p.srv.URL},
	}}
}

// ownerDirectory resolves alice, bob and eve to p, with no verified handle.
func ownerDirectory(p *ownerPDS) *identity.MockDirectory {
	dir := identity.NewMockDirectory()
	for _, did := range []syntax.DID{alice, bob, eve} {
		dir.Insert(ownerIdentity(p, did, syntax.HandleInvalid))
	}
	return dir
}
