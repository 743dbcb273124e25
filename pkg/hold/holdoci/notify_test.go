package holdoci

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

const layerType = "application/vnd.oci.image.layer.v1.tar+gzip"

func manifestURIOf(did syntax.DID, rkey string) string {
	return "at://" + did.String() + "/" + atcr.ManifestNSID + "/" + rkey
}

// putBlob stores a blob of n bytes directly at its digest key.
func (e *testEnv) putBlob(t testing.TB, seed uint64, n int) oci.Digest {
	t.Helper()
	data := randomBytes(seed, n)
	d := oci.FromBytes(oci.SHA256, data)
	if err := e.svc.PutBytes(t.Context(), s3.BlobKey(d), data); err != nil {
		t.Fatal(err)
	}
	return d
}

// notifyInput describes a manifest; the sizes sent are deliberately wrong
// (1 byte): the hold must use S3's.
func notifyInput(uri, tag string, config oci.Digest, layers ...oci.Digest) atcr.HoldNotifyManifest_Input {
	in := atcr.HoldNotifyManifest_Input{
		Repository: "app", ManifestURI: uri, Tag: tag,
		ManifestDigest: oci.FromBytes(oci.SHA256, []byte(uri)).String(),
		MediaType:      "application/vnd.oci.image.manifest.v1+json",
		Layers:         []atcr.HoldNotifyManifest_Descriptor{},
	}
	if !config.IsZero() {
		in.Config = &atcr.HoldNotifyManifest_Descriptor{Digest: config.String(), Size: 1, MediaType: "application/vnd.oci.image.config.v1+json"}
	}
	for _, l := range layers {
		in.Layers = append(in.Layers, atcr.HoldNotifyManifest_Descriptor{Digest: l.String(), Size: 1, MediaType: layerType})
	}
	return in
}

// notify publishes the manifest record the input describes on the owner's
// PDS and announces it.
func (e *testEnv) notify(t testing.TB, caller syntax.DID, in atcr.HoldNotifyManifest_Input) atcr.HoldNotifyManifest_Output {
	t.Helper()
	e.owner.putManifest(t, in.ManifestURI, in)
	var out atcr.HoldNotifyManifest_Output
	e.call(t, caller, atcr.HoldNotifyManifestNSID, in, &out)
	return out
}

// publishAndPost publishes the record the input describes and sends the
// notification, returning the raw answer.
func (e *testEnv) publishAndPost(t testing.TB, caller syntax.DID, in atcr.HoldNotifyManifest_Input) response {
	t.Helper()
	e.owner.putManifest(t, in.ManifestURI, in)
	return e.post(t, caller, atcr.HoldNotifyManifestNSID, in)
}

// layerRecords returns every io.atcr.hold.layer record in the hold's repo.
func (e *testEnv) layerRecords(t testing.TB) []atcr.HoldLayer {
	t.Helper()
	var out []atcr.HoldLayer
	cursor := ""
	for {
		recs, next, err := e.pds.ListRecords(t.Context(), layerCollection, 100, cursor, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			var l atcr.HoldLayer
			if err := atcr.FromMap(rec.Value, &l); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

func (e *testEnv) countRecords(t testing.TB, coll string) int {
	t.Helper()
	recs, _, err := e.pds.ListRecords(t.Context(), syntax.NSID(coll), 100, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func TestNotifyManifestRecordsLayers(t *testing.T) {
	e := newEnv(t)
	config, a, b := e.putBlob(t, 30, 100), e.putBlob(t, 31, 2000), e.putBlob(t, 32, 3000)
	uri := manifestURIOf(alice, "3kaaaaaaaaa22")
	in := notifyInput(uri, "v1", config, a, b, a) // a listed twice: recorded once

	out := e.notify(t, alice, in)
	if out.LayersRecorded != 3 || out.QuotaUsed == nil || *out.QuotaUsed != 5100 || out.QuotaLimit != nil || out.PostURI != "" {
		t.Fatalf("output %+v (used %v), want 3 records, 5100 used, no limit, no post", out, out.QuotaUsed)
	}
	sizes := map[string]int64{config.String(): 100, a.String(): 2000, b.String(): 3000}
	recs := e.layerRecords(t)
	if len(recs) != 3 {
		t.Fatalf("%d layer records, want 3", len(recs))
	}
	for _, r := range recs {
		if r.Size != sizes[r.Digest] || r.UserDID != alice.String() || r.Manifest != uri || r.Repository != "app" || r.MediaType == "" {
			t.Fatalf("record %+v", r)
		}
	}

	// Repeating the notification writes nothing and adds nothing.
	if out := e.notify(t, alice, in); out.LayersRecorded != 0 || *out.QuotaUsed != 5100 {
		t.Fatalf("repeat: %+v", out)
	}
	if n := len(e.layerRecords(t)); n != 3 || e.quota.lastAdd() != 0 {
		t.Fatalf("repeat left %d records, added %d bytes", n, e.quota.lastAdd())
	}

	// A second manifest sharing layer a: only c's bytes are new to alice.
	c := e.putBlob(t, 33, 700)
	out = e.notify(t, alice, notifyInput(manifestURIOf(alice, "3kaaaaaaaaa33"), "v2", oci.Digest{}, a, c))
	if out.LayersRecorded != 2 || e.quota.lastAdd() != 700 || *out.QuotaUsed != 5800 {
		t.Fatalf("second manifest: %+v, added %d", out, e.quota.lastAdd())
	}
	// The same blob pushed by bob is charged to bob in full.
	e.notify(t, bob, notifyInput(manifestURIOf(bob, "3kaaaaaaaaa44"), "", oci.Digest{}, a))
	if e.quota.lastAdd() != 2000 {
		t.Fatalf("bob added %d bytes, want 2000", e.quota.lastAdd())
	}
}

func TestNotifyManifestRefusals(t *testing.T) {
	e := newEnv(t)
	a := e.putBlob(t, 40, 10)
	missing := oci.FromBytes(oci.SHA256, []byte("not on this hold"))
	uri := manifestURIOf(alice, "3kbbbbbbbbb22")

	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestNSID, notifyInput(manifestURIOf(bob, "3kbbbbbbbbb22"), "", a)),
		http.StatusForbidden, "Forbidden")
	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestNSID, notifyInput("at://alice.example.com/io.atcr.manifest/3kbbbbbbbbb22", "", a)),
		http.StatusForbidden, "Forbidden")
	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestNSID, notifyInput("at://"+alice.String()+"/io.atcr.tag/x", "", a)),
		http.StatusBadRequest, "InvalidRequest")
	wantError(t, e.post(t, eve, atcr.HoldNotifyManifestNSID, notifyInput(manifestURIOf(eve, "3kbbbbbbbbb22"), "", a)),
		http.StatusForbidden, "Forbidden")
	wantError(t, e.publishAndPost(t, alice, notifyInput(uri, "", a, missing)),
		http.StatusBadRequest, atcr.ErrorBlobNotFound)
	bad := notifyInput(uri, "", a)
	bad.Layers = append(bad.Layers, atcr.HoldNotifyManifest_Descriptor{Digest: "sha256:short", MediaType: layerType})
	wantError(t, e.publishAndPost(t, alice, bad), http.StatusBadRequest, atcr.ErrorInvalidDigest)
	wantError(t, e.post(t, "", atcr.HoldNotifyManifestNSID, notifyInput(uri, "", a)), http.StatusUnauthorized, atcr.ErrorAuthRequired)
	if n := len(e.layerRecords(t)); n != 0 {
		t.Fatalf("refused notifications wrote %d records", n)
	}
}

func TestNotifyManifestEnforcesQuota(t *testing.T) {
	e := newEnv(t)
	e.quota.setLimit(2500)
	config, a, b := e.putBlob(t, 50, 100), e.putBlob(t, 51, 2000), e.putBlob(t, 52, 3000)
	out := e.notify(t, alice, notifyInput(manifestURIOf(alice, "3kccccccccc22"), "", config, a))
	if out.QuotaLimit == nil || *out.QuotaLimit != 2500 || *out.QuotaUsed != 2100 {
		t.Fatalf("within quota: %+v", out)
	}
	e.captain.set(true)
	wantError(t, e.publishAndPost(t, alice, notifyInput(manifestURIOf(alice, "3kccccccccc33"), "big", config, a, b)),
		http.StatusBadRequest, atcr.ErrorQuotaExceeded)
	if n := len(e.layerRecords(t)); n != 2 {
		t.Fatalf("%d layer records after the refused push, want 2", n)
	}
	if n := e.countRecords(t, postCollection.String()); n != 0 {
		t.Fatalf("a refused push was announced (%d posts)", n)
	}
	// Blobs alice already has cost nothing: a new manifest of them fits.
	if out := e.notify(t, alice, notifyInput(manifestURIOf(alice, "3kccccccccc44"), "", config, a)); out.LayersRecorded != 2 {
		t.Fatalf("re-using owned blobs: %+v", out)
	}
}

func TestNotifyManifestPosts(t *testing.T) {
	owner := newOwnerPDS(t)
	dir := identity.NewMockDirectory()
	dir.Insert(ownerIdentity(owner, alice, "alice.example.com"))
	e := newEnv(t, withOwnerPDS(owner), func(c *envConfig) { c.modify = func(o *Options) { o.Identity = dir } })
	a := e.putBlob(t, 60, 10)

	if out := e.notify(t, alice, notifyInput(manifestURIOf(alice, "3kddddddddd22"), "v1", oci.Digest{}, a)); out.PostURI != "" {
		t.Fatalf("posted while disabled: %s", out.PostURI)
	}
	if n := e.countRecords(t, postCollection.String()); n != 0 {
		t.Fatalf("%d posts while disabled", n)
	}

	e.captain.set(true)
	in := notifyInput(manifestURIOf(alice, "3kddddddddd33"), "latest", oci.Digest{}, a)
	out := e.notify(t, alice, in)
	uri, err := syntax.ParseATURI(out.PostURI)
	if err != nil || uri.Collection() != postCollection || uri.Authority().String() != e.pds.DID().String() {
		t.Fatalf("postUri %q: %v", out.PostURI, err)
	}
	post, _, err := e.pds.GetRecord(t.Context(), postCollection, uri.RecordKey())
	if err != nil {
		t.Fatal(err)
	}
	if post["text"] != "alice.example.com pushed app:latest" || post["createdAt"] == nil {
		t.Fatalf("post %v", post)
	}
	for _, r := range e.layerRecords(t) {
		if r.UserHandle != "alice.example.com" {
			t.Fatalf("layer record without the handle: %+v", r)
		}
	}
	// A repeated notification is not a new push.
	if out := e.notify(t, alice, in); out.PostURI != "" {
		t.Fatalf("repeat posted again: %s", out.PostURI)
	}
	if n := e.countRecords(t, postCollection.String()); n != 1 {
		t.Fatalf("%d posts, want 1", n)
	}
}

func TestNotifyManifestBatchesLargeManifests(t *testing.T) {
	e := newEnv(t)
	var layers []oci.Digest
	for i := range 250 { // more than one commit's worth (pds.MaxCommitOps = 200)
		layers = append(layers, e.putBlob(t, uint64(1000+i), 16))
	}
	out := e.notify(t, alice, notifyInput(manifestURIOf(alice, "3keeeeeeeee22"), "", oci.Digest{}, layers...))
	if out.LayersRecorded != 250 || *out.QuotaUsed != 250*16 {
		t.Fatalf("output %+v", out)
	}
	if n := len(e.layerRecords(t)); n != 250 {
		t.Fatalf("%d records", n)
	}
}

func TestDeleteManifestLayers(t *testing.T) {
	e := newEnv(t)
	a, b := e.putBlob(t, 70, 10), e.putBlob(t, 71, 20)
	first, second := manifestURIOf(alice, "3kfffffffff22"), manifestURIOf(alice, "3kfffffffff33")
	e.notify(t, alice, notifyInput(first, "", a, b))
	e.notify(t, alice, notifyInput(second, "", a))

	n, err := e.h.DeleteManifestLayers(t.Context(), syntax.ATURI(first))
	if err != nil || n != 2 {
		t.Fatalf("DeleteManifestLayers = %d, %v; want 2", n, err)
	}
	recs := e.layerRecords(t)
	if len(recs) != 1 || recs[0].Manifest != second || recs[0].Digest != a.String() {
		t.Fatalf("left %+v", recs)
	}
	// b's bytes are free again: re-recording them counts them anew.
	e.notify(t, alice, notifyInput(first, "", a, b))
	if got := e.quota.lastAdd(); got != 20 {
		t.Fatalf("re-adding b charged %d bytes, want 20", got)
	}
}

// TestPushTextFixedTemplate: the post says "<who> pushed <repo>:<tag>";
// a tag that is not a valid OCI tag (spaces, new lines, mentions, links)
// is never shown — the short digest is — and an overlong text is cut.
func TestPushTextFixedTemplate(t *testing.T) {
	d := oci.FromBytes(oci.SHA256, []byte("m"))
	short := "app@sha256:" + d.Hex()[:12]
	for tag, want := range map[string]string{
		"":       "did:plc:x pushed " + short,
		"v1.2_3": "did:plc:x pushed app:v1.2_3",
		"x\n\nalice.bsky.social pushed malware:latest": "did:plc:x pushed " + short,
		"FREE CRYPTO at https://evil.example/claim":    "did:plc:x pushed " + short,
		"@bsky.app":              "did:plc:x pushed " + short,
		strings.Repeat("a", 129): "did:plc:x pushed " + short,
	} {
		if got := pushText("did:plc:x", "app", tag, d); got != want {
			t.Errorf("tag %q: got %q, want %q", tag, got, want)
		}
	}
	long := pushText("did:web:"+strings.Repeat("h", 400)+".example", "app", "v1", d)
	if n := utf8.RuneCountInString(long); n != 300 || !strings.HasSuffix(long, "…") {
		t.Fatalf("long text has %d characters, want 300 ending in …", n)
	}
}
