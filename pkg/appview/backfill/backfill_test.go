package backfill_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/backfill"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
)

// fixture is a real signed repository (the hold's embedded PDS) served by
// getRepo, a directory naming it, and an index.
type fixture struct {
	repo   *pds.PDS
	dir    *identity.MockDirectory
	idx    *index.Store
	tamper bool // change a record's bytes in getRepo answers
	bf     *backfill.Backfiller
	// fetches counts getRepo requests for the repository; while down is
	// set they fail with 503, and while stall is open they wait for it.
	fetches atomic.Int64
	down    atomic.Bool
	stall   atomic.Pointer[chan struct{}]
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/xrpc/com.atproto.sync.getRepo" || r.URL.Query().Get("did") != f.repo.DID().String() {
			http.NotFound(w, r)
			return
		}
		f.fetches.Add(1)
		if f.down.Load() {
			http.Error(w, "PDS unavailable", http.StatusServiceUnavailable)
			return
		}
		if ch := f.stall.Load(); ch != nil {
			select {
			case <-*ch:
			case <-r.Context().Done():
				return
			}
		}
		var buf bytes.Buffer
		if err := f.repo.Export(r.Context(), &buf); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		b := buf.Bytes()
		if f.tamper {
			b = tamperRecord(t, b)
		}
		w.Header().Set("Content-Type", "application/vnd.ipld.car")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	p, err := pds.Open(ctx, pds.Options{DataDir: t.TempDir(), PublicURL: "https://hold.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	f.repo = p
	f.dir = identity.NewMockDirectory()
	f.dir.Insert(identity.Identity{
		DID: p.DID(), Handle: syntax.Handle("hold.test"),
		Keys:     map[string]identity.VerificationMethod{"atproto": {Type: "Multikey", PublicKeyMultibase: p.PublicKey().Multibase()}},
		Services: map[string]identity.ServiceEndpoint{"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: srv.URL}},
	})
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "appview.db"))
	if err != nil {
		t.Fatal(err)
	}
	f.idx = index.New(d, index.Options{})
	t.Cleanup(func() { f.idx.Close(ctx); d.Close() })
	f.bf, err = backfill.New(backfill.Options{Directory: f.dir, HTTPClient: srv.Client(), Index: f.idx})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// tamperRecord changes a record's bytes (the member DID "did:plc:alice"
// becomes "did:plc:alicf"), so its block no longer hashes to its CID.
func tamperRecord(t *testing.T, car []byte) []byte {
	t.Helper()
	i := bytes.Index(car, []byte(member))
	if i < 0 {
		t.Fatal("no record to tamper with")
	}
	out := bytes.Clone(car)
	out[i+len(member)-1]++
	return out
}

func (f *fixture) write(t *testing.T, coll string, rkey string, v any) {
	t.Helper()
	m, err := atcr.ToMap(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.repo.PutRecord(context.Background(), syntax.NSID(coll), syntax.RecordKey(rkey), m); err != nil {
		t.Fatal(err)
	}
}

const member = "did:plc:alice"

func TestBackfillIndexesAVerifiedRepository(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, atcr.HoldCaptainNSID, "self", &atcr.HoldCaptain{Owner: member, DeployedAt: "2026-11-01T00:00:00Z", Public: true})
	crewKey := f.repo.NextTID().String()
	f.write(t, atcr.HoldCrewNSID, crewKey, &atcr.HoldCrew{Member: member, Role: "member", Permissions: []string{"blob:read"}, AddedAt: "2026-11-01T00:00:00Z"})

	res, err := f.bf.Account(ctx, "hold.test")
	if err != nil {
		t.Fatalf("backfill: %v", err)
	}
	if res.DID != f.repo.DID().String() || res.Records != 2 || res.Indexed != 2 || res.Invalid != 0 {
		t.Fatalf("result %+v", res)
	}
	c, err := f.idx.Captain(ctx, f.repo.DID().String())
	if err != nil || c.Owner != member {
		t.Fatalf("captain %+v, %v", c, err)
	}
	crew, err := f.idx.Crew(ctx, f.repo.DID().String())
	if err != nil || len(crew) != 1 {
		t.Fatalf("crew %+v, %v", crew, err)
	}

	// A record deleted on the PDS disappears with the next backfill.
	if err := f.repo.DeleteRecord(ctx, atcr.HoldCrewNSID, syntax.RecordKey(crewKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bf.Account(ctx, f.repo.DID().String()); err != nil {
		t.Fatal(err)
	}
	if crew, _ := f.idx.Crew(ctx, f.repo.DID().String()); len(crew) != 0 {
		t.Fatalf("crew after the delete and a backfill: %+v", crew)
	}
}

// TestBackfillRefusesWhatDoesNotVerify: a record whose bytes do not match
// its CID, and a commit signed by another key than the DID document's,
// index nothing.
func TestBackfillRefusesWhatDoesNotVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, atcr.HoldCaptainNSID, "self", &atcr.HoldCaptain{Owner: member, DeployedAt: "2026-11-01T00:00:00Z"})
	f.tamper = true
	if _, err := f.bf.Account(ctx, "hold.test"); !errors.Is(err, backfill.ErrVerify) {
		t.Fatalf("tampered record: %v, want ErrVerify", err)
	}
	f.tamper = false

	other, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := other.PublicKey()
	ident, _ := f.dir.LookupDID(ctx, f.repo.DID())
	ident.Keys = map[string]identity.VerificationMethod{"atproto": {Type: "Multikey", PublicKeyMultibase: pub.Multibase()}}
	f.dir.Insert(*ident)
	if _, err := f.bf.Account(ctx, "hold.test"); !errors.Is(err, backfill.ErrVerify) {
		t.Fatalf("commit signed by another key: %v, want ErrVerify", err)
	}
	if _, err := f.idx.Captain(ctx, f.repo.DID().String()); err == nil {
		t.Fatal("a repository that does not verify was indexed")
	}
}
