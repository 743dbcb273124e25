package storage_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestAnonymousFloodKeepsIndexesBounded: anonymous tag lists of many
// accounts whose records are as large as their PDS allows (annotations)
// keep at most Options.IndexBytes of record JSON in memory, whatever the
// accounts hold: the heap grows by a stated bound, not with what the
// flood asks for. (At e26a50b every account's whole record set stayed.)
func TestAnonymousFloodKeepsIndexesBounded(t *testing.T) {
	const (
		accounts          = 24
		recordsPerAccount = 40
		annotationBytes   = 32 << 10 // 1.25 MiB of record JSON per account, 30 MiB in all
		indexBytes        = 1 << 20
		accountBytes      = 128 << 10
		// The decoded records of indexBytes of JSON, with maps and
		// strings, stay well under four times that; 8 MiB of slack for
		// everything else the requests leave behind.
		heapBound = 4*indexBytes + 8<<20
	)
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.IndexBytes, o.IndexAccountBytes = indexBytes, accountBytes
	}})
	note := strings.Repeat("x", annotationBytes)
	tids := syntax.NewTIDClock(0)
	for i := range accounts {
		u := env.AddUser(fmt.Sprintf("user%d.test", i))
		blob := env.PDS.PutBlob(u.DID, []byte(`{}`), oci.MediaTypeOCIManifest)
		for j := range recordsPerAccount {
			d := oci.FromBytes(oci.SHA256, []byte(fmt.Sprint(i, "/", j)))
			env.PDS.PutRecord(t, u.DID, atcr.ManifestNSID, tids.Next().String(), &atcr.Manifest{
				Repository: "app", Digest: d.String(), MediaType: oci.MediaTypeOCIManifest, SchemaVersion: 2,
				ManifestBlob: &blob, Annotations: map[string]any{"note": note}, CreatedAt: "2026-01-01T00:00:00.000Z",
			})
		}
	}
	before := heapInUse()
	for i := range accounts {
		repo := env.Repo(t, fmt.Sprintf("user%d.test/app", i))
		if _, err := env.Store.Tags(t.Context(), repo); err != nil {
			t.Fatalf("tags of user%d: %v", i, err)
		}
	}
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap grew by %.1f MiB for %d accounts of %.1f MiB of records each (bound %.1f MiB)",
		float64(grew)/(1<<20), accounts, float64(recordsPerAccount*annotationBytes)/(1<<20), float64(heapBound)/(1<<20))
	if grew > heapBound {
		t.Fatalf("heap grew by %d bytes, bound %d", grew, heapBound)
	}
	runtime.KeepAlive(env.Store)
}

// TestTagsListedWhenManifestsFillTheAccountBound: an account whose
// manifest records alone pass Options.IndexAccountBytes still has every tag
// listed — the bound stops the manifests, not the tags (before, manifests
// were listed first and took the whole bound, and tags/list was empty).
func TestTagsListedWhenManifestsFillTheAccountBound(t *testing.T) {
	const (
		manifests    = 24
		tags         = 5
		accountBytes = 128 << 10
	)
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.IndexAccountBytes = accountBytes
	}})
	u := env.AddUser("heavy.test")
	blob := env.PDS.PutBlob(u.DID, []byte(`{}`), oci.MediaTypeOCIManifest)
	note := strings.Repeat("x", 2*accountBytes/manifests) // 2× the bound in manifests
	tids := syntax.NewTIDClock(0)
	var want []string
	for i := range manifests {
		d := oci.FromBytes(oci.SHA256, []byte(fmt.Sprint(i)))
		rkey := tids.Next().String()
		env.PDS.PutRecord(t, u.DID, atcr.ManifestNSID, rkey, &atcr.Manifest{
			Repository: "app", Digest: d.String(), MediaType: oci.MediaTypeOCIManifest, SchemaVersion: 2,
			ManifestBlob: &blob, Annotations: map[string]any{"note": note}, CreatedAt: "2026-01-01T00:00:00.000Z",
		})
		if i < tags {
			tag := fmt.Sprintf("v%d", i)
			want = append(want, tag)
			tg, err := oci.ParseTag(tag)
			if err != nil {
				t.Fatal(err)
			}
			env.PDS.PutRecord(t, u.DID, atcr.TagNSID, pdsread.TagRecordKey("app", tg), &atcr.Tag{
				Repository: "app", Tag: tag, Manifest: fmt.Sprintf("at://%s/%s/%s", u.DID, atcr.ManifestNSID, rkey),
				CreatedAt: "2026-01-01T00:00:00.000Z",
			})
		}
	}
	got, err := env.Store.Tags(t.Context(), env.Repo(t, "heavy.test/app"))
	if err != nil {
		t.Fatalf("tags: %v", err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("tags = %v, want %v", got, want)
	}
}
