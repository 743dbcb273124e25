//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// The registry's refusals, over raw HTTP through Caddy with tokens from
// /auth/token: each answers with the OCI error the spec names, and none
// leaves anything behind.

// TestRegistryRefusesBadNames: traversal (plain, percent-encoded, dot
// segments), empty segments, uppercase, a leading separator, an over-long
// name and a bare identity are all 400 NAME_INVALID, before any
// authentication or identity resolution.
func TestRegistryRefusesBadNames(t *testing.T) {
	base := env(t, "ATCR_APPVIEW_URL")
	alice, bob := regAlice(t).Handle, regBob(t).Handle
	for _, name := range []string{
		alice + "/../" + bob + "/app",
		alice + "/%2e%2e/" + bob + "/app",
		alice + "/%2E%2E/app",
		alice + "/./app",
		alice + "/app/..",
		alice + "//app",
		alice + "/App",
		alice + "/-app",
		alice + "/app%2fother",
		alice + "/" + strings.Repeat("a", 300),
		alice,
	} {
		for _, suffix := range []string{"/manifests/latest", "/tags/list", "/blobs/uploads/"} {
			method := http.MethodGet
			if strings.HasSuffix(suffix, "uploads/") {
				method = http.MethodPost
			}
			r := regDo(t, base, method, "/v2/"+name+suffix, "", nil, nil)
			r.requireError(t, method+" /v2/"+name+suffix, http.StatusBadRequest, "NAME_INVALID")
		}
	}
}

// TestRegistryRefusesBadDigests: malformed digests in blob, manifest,
// referrers and upload URLs are 400 DIGEST_INVALID.
func TestRegistryRefusesBadDigests(t *testing.T) {
	base := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	repo := regRepo(alice, "errors/digest")
	tok := regToken(t, base, alice, "repository:"+repo+":pull,push")
	hex64 := strings.Repeat("a", 64)
	for _, bad := range []string{"sha256:abc", "sha256:" + strings.Repeat("A", 64), "md5:" + hex64[:32],
		"sha256:" + hex64 + "0", "sha512:" + hex64, "sha256-" + hex64} {
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/v2/" + repo + "/blobs/" + bad},
			{http.MethodHead, "/v2/" + repo + "/blobs/" + bad},
			{http.MethodGet, "/v2/" + repo + "/referrers/" + bad},
			{http.MethodPost, "/v2/" + repo + "/blobs/uploads/?digest=" + bad},
			{http.MethodPost, "/v2/" + repo + "/blobs/uploads/?mount=" + bad},
		} {
			r := regDo(t, base, req.method, req.path, tok, []byte("x"), nil)
			if req.method == http.MethodHead {
				if r.Status != http.StatusBadRequest {
					t.Fatalf("HEAD %s: %d, want 400", req.path, r.Status)
				}
				continue
			}
			r.requireError(t, req.method+" "+req.path, http.StatusBadRequest, "DIGEST_INVALID")
		}
	}
}

// TestRegistryDigestMismatchStoresNothing: an upload whose bytes do not
// hash to the digest it claims is 400 DIGEST_INVALID, monolithic or
// chunked, and the claimed digest stays unknown (HEAD 404).
func TestRegistryDigestMismatchStoresNothing(t *testing.T) {
	base := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	repo := regRepo(alice, "errors/mismatch")
	tok := regToken(t, base, alice, "repository:"+repo+":pull,push")
	data := []byte("the bytes actually sent " + repo)
	claimed := oci.FromBytes(oci.SHA256, []byte("the bytes claimed "+repo))
	head := func(what string) {
		t.Helper()
		if r := regDo(t, base, http.MethodHead, "/v2/"+repo+"/blobs/"+claimed.String(), tok, nil, nil); r.Status != http.StatusNotFound {
			t.Fatalf("%s: HEAD of the claimed digest: %d, want 404", what, r.Status)
		}
	}

	r := regDo(t, base, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+claimed.String(), tok, data,
		map[string]string{"Content-Type": "application/octet-stream"})
	r.requireError(t, "monolithic upload", http.StatusBadRequest, "DIGEST_INVALID")
	head("monolithic upload")

	r = regDo(t, base, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", tok, nil, nil)
	loc := r.Header.Get("Location")
	if r.Status != http.StatusAccepted || loc == "" {
		t.Fatalf("start upload: %d %v", r.Status, r.Header)
	}
	loc = strings.TrimPrefix(loc, base)
	hdr := map[string]string{"Content-Type": "application/octet-stream", "Content-Range": "0-" + strconv.Itoa(len(data)-1)}
	if r = regDo(t, base, http.MethodPatch, loc, tok, data, hdr); r.Status != http.StatusAccepted {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	r = regDo(t, base, http.MethodPut, loc+"?digest="+claimed.String(), tok, nil, nil)
	r.requireError(t, "chunked upload", http.StatusBadRequest, "DIGEST_INVALID")
	head("chunked upload")
	// The failed session is gone: it cannot be completed under another digest.
	actual := oci.FromBytes(oci.SHA256, data)
	regDo(t, base, http.MethodPut, loc+"?digest="+actual.String(), tok, nil, nil).
		requireError(t, "completing the failed session again", http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

// TestRegistryRefusesLargeManifest: a manifest over 4 MiB is 413, whether
// its length is announced or streamed, and writes no record.
func TestRegistryRefusesLargeManifest(t *testing.T) {
	base := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	repo := regRepo(alice, "errors/large")
	tok := regToken(t, base, alice, "repository:"+repo+":pull,push")
	body := append([]byte(`{"schemaVersion":2,"mediaType":"`+oci.MediaTypeOCIManifest+`","annotations":{"x":"`),
		bytes.Repeat([]byte("A"), 5<<20)...)
	body = append(body, []byte(`"}}`)...)
	r := regDo(t, base, http.MethodPut, "/v2/"+repo+"/manifests/v1", tok, body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	r.requireError(t, "5 MiB manifest", http.StatusRequestEntityTooLarge, "MANIFEST_INVALID")
	if n := len(regRecordsOf(regRecords(t, alice.DID, atcr.ManifestNSID), strings.TrimPrefix(repo, alice.Handle+"/"))); n != 0 {
		t.Fatalf("%d manifest records for %s", n, repo)
	}
}

// TestRegistryDeniesForeignNamespace: bob, logged in, cannot push into
// alice's repository: his token carries no push on it, the registry answers
// 403 DENIED, and alice's manifest and tag records are exactly what they
// were.
func TestRegistryDeniesForeignNamespace(t *testing.T) {
	base := env(t, "ATCR_APPVIEW_URL")
	alice, bob := regAlice(t), regBob(t)
	repo := regRepo(alice, "errors/foreign")
	before := regRecordURIs(t, alice.DID)

	tok := regToken(t, base, bob, "repository:"+repo+":pull,push")
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	d := oci.FromBytes(oci.SHA256, cfg)
	regDo(t, base, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), tok, cfg, nil).
		requireError(t, "bob uploads into alice's repository", http.StatusForbidden, "DENIED")
	manifest := []byte(`{"schemaVersion":2,"mediaType":"` + oci.MediaTypeOCIManifest + `","config":{"mediaType":"` +
		oci.MediaTypeOCIConfig + `","digest":"` + d.String() + `","size":` + strconv.Itoa(len(cfg)) + `},"layers":[]}`)
	regDo(t, base, http.MethodPut, "/v2/"+repo+"/manifests/latest", tok, manifest, map[string]string{"Content-Type": oci.MediaTypeOCIManifest}).
		requireError(t, "bob pushes a manifest into alice's repository", http.StatusForbidden, "DENIED")
	regDo(t, base, http.MethodDelete, "/v2/"+repo+"/manifests/latest", tok, nil, nil).
		requireError(t, "bob deletes in alice's repository", http.StatusForbidden, "DENIED")

	if after := regRecordURIs(t, alice.DID); !slices.Equal(before, after) {
		t.Fatalf("alice's records changed: %d before, %d after", len(before), len(after))
	}
}

// TestRegistryWrongPassword: /auth/token refuses a wrong app password with
// 401 and a Basic challenge, and issues no token.
func TestRegistryWrongPassword(t *testing.T) {
	base := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	status, tok := regTokenStatus(t, base, alice.Handle, alice.Password+"-wrong", "repository:"+alice.Handle+"/app:pull,push")
	if status != http.StatusUnauthorized || tok != "" {
		t.Fatalf("/auth/token with a wrong app password: %d (token issued: %t), want 401", status, tok != "")
	}
	// The 401 is the registry's own answer to a token it never issued, too.
	regDo(t, base, http.MethodGet, "/v2/", "not-a-token", nil, nil).requireError(t, "GET /v2/ with a bad token", http.StatusUnauthorized, "UNAUTHORIZED")
}

// regRecordURIs lists the URIs of did's manifest and tag records, sorted.
func regRecordURIs(t *testing.T, did string) []string {
	t.Helper()
	var uris []string
	for _, c := range []string{atcr.ManifestNSID, atcr.TagNSID} {
		for _, r := range regRecords(t, did, c) {
			uris = append(uris, r.URI)
		}
	}
	slices.Sort(uris)
	return uris
}
