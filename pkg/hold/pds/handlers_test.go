package pds

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/repo"

	"atcr.io/pkg/atproto/xrpc"
)

// getJSON fetches path and decodes the JSON body; it returns the status.
func getJSON(t *testing.T, base, path string, out any) int {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: content type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode
}

func TestXRPCReadEndpoints(t *testing.T) {
	p := openTestPDS(t, "")
	c := mustPut(t, p, crewNSID, "alice", crewRecord("did:plc:alice", "blob:read"))
	mustPut(t, p, crewNSID, "bob", crewRecord("did:plc:bob"))
	mustPut(t, p, "io.atcr.hold.captain", "self", map[string]any{"owner": "did:plc:o", "public": true})
	srv := startServer(t, p)
	did := url.QueryEscape(p.DID().String())
	commit, rev := p.Head()

	var rec struct {
		URI   string         `json:"uri"`
		CID   string         `json:"cid"`
		Value map[string]any `json:"value"`
	}
	if st := getJSON(t, srv.URL, "/xrpc/com.atproto.repo.getRecord?repo="+did+"&collection=io.atcr.hold.crew&rkey=alice", &rec); st != 200 ||
		rec.CID != c || rec.Value["member"] != "did:plc:alice" || rec.Value["$type"] != "io.atcr.hold.crew" {
		t.Errorf("getRecord: %d %+v", st, rec)
	}
	// The handle works as repo too.
	if st := getJSON(t, srv.URL, "/xrpc/com.atproto.repo.getRecord?repo=hold.example.com&collection=io.atcr.hold.crew&rkey=alice", &rec); st != 200 {
		t.Errorf("getRecord by handle: %d", st)
	}

	var xerr xrpcError
	errCases := []struct{ path, name string }{
		{"/xrpc/com.atproto.repo.getRecord?repo=" + did + "&collection=io.atcr.hold.crew&rkey=nobody", "RecordNotFound"},
		{"/xrpc/com.atproto.repo.getRecord?repo=did:plc:someoneelse&collection=io.atcr.hold.crew&rkey=alice", "RepoNotFound"},
		{"/xrpc/com.atproto.repo.getRecord?repo=" + did + "&collection=bad&rkey=alice", "InvalidRequest"},
		{"/xrpc/com.atproto.repo.listRecords?repo=" + did + "&collection=io.atcr.hold.crew&limit=1000", "InvalidRequest"},
		{"/xrpc/com.atproto.sync.getRepo?did=did:web:other.example.com", "RepoNotFound"},
		{"/xrpc/com.atproto.sync.getRepo?did=" + did + "&since=notatid", "InvalidRequest"},
		{"/xrpc/com.atproto.sync.getBlob?did=" + did + "&cid=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "BlobNotFound"},
		{"/xrpc/com.atproto.identity.resolveHandle?handle=someone.example.com", "HandleNotFound"},
	}
	for _, tc := range errCases {
		xerr = xrpcError{}
		if st := getJSON(t, srv.URL, tc.path, &xerr); st != http.StatusBadRequest || xerr.Error != tc.name || xerr.Message == "" {
			t.Errorf("%s: %d %+v, want 400 %s", tc.path, st, xerr, tc.name)
		}
	}

	var list struct {
		Cursor  string `json:"cursor"`
		Records []struct {
			URI string `json:"uri"`
		} `json:"records"`
	}
	if st := getJSON(t, srv.URL, "/xrpc/com.atproto.repo.listRecords?repo="+did+"&collection=io.atcr.hold.crew&limit=1&reverse=true", &list); st != 200 ||
		len(list.Records) != 1 || !strings.HasSuffix(list.Records[0].URI, "/alice") || list.Cursor != "alice" {
		t.Errorf("listRecords page 1: %d %+v", st, list)
	}
	list.Records = nil
	if getJSON(t, srv.URL, "/xrpc/com.atproto.repo.listRecords?repo="+did+"&collection=io.atcr.hold.crew&limit=1&reverse=true&cursor=alice", &list); len(list.Records) != 1 || !strings.HasSuffix(list.Records[0].URI, "/bob") {
		t.Errorf("listRecords page 2: %+v", list)
	}

	var desc struct {
		Handle      string         `json:"handle"`
		DID         string         `json:"did"`
		Collections []string       `json:"collections"`
		DIDDoc      map[string]any `json:"didDoc"`
	}
	if getJSON(t, srv.URL, "/xrpc/com.atproto.repo.describeRepo?repo="+did, &desc); desc.Handle != "hold.example.com" ||
		strings.Join(desc.Collections, ",") != "io.atcr.hold.captain,io.atcr.hold.crew" || desc.DIDDoc["id"] != p.DID().String() {
		t.Errorf("describeRepo: %+v", desc)
	}

	var out map[string]any
	if getJSON(t, srv.URL, "/xrpc/com.atproto.server.describeServer", &out); out["did"] != p.DID().String() {
		t.Errorf("describeServer: %v", out)
	}
	if getJSON(t, srv.URL, "/xrpc/com.atproto.identity.resolveHandle?handle=HOLD.example.com", &out); out["did"] != p.DID().String() {
		t.Errorf("resolveHandle: %v", out)
	}
	if getJSON(t, srv.URL, "/xrpc/com.atproto.sync.getLatestCommit?did="+did, &out); out["cid"] != commit || out["rev"] != rev {
		t.Errorf("getLatestCommit: %v", out)
	}
	if getJSON(t, srv.URL, "/xrpc/com.atproto.sync.getRepoStatus?did="+did, &out); out["active"] != true || out["rev"] != rev {
		t.Errorf("getRepoStatus: %v", out)
	}
	getCAR := func(path string) []byte {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != carContentType {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	full := carBlockSet(t, getCAR("/xrpc/com.atproto.sync.getRepo?did="+did))
	mustPut(t, p, crewNSID, "carol", crewRecord("did:plc:carol"))
	since := carBlockSet(t, getCAR("/xrpc/com.atproto.sync.getRepo?did="+did+"&since="+rev))
	for c := range since {
		if full[c] {
			t.Errorf("getRepo?since=%s returned old block %s", rev, c)
		}
	}
	if len(since) == 0 {
		t.Error("getRepo?since returned no blocks")
	}
	proof := getCAR("/xrpc/com.atproto.sync.getRecord?did=" + did + "&collection=io.atcr.hold.crew&rkey=carol")
	if _, err := repo.VerifyCommitSignatureFromCar(context.Background(), mockDir(p), proof); err != nil {
		t.Errorf("sync.getRecord proof: %v", err)
	}

	var repos struct {
		Repos []map[string]any `json:"repos"`
	}
	commit, _ = p.Head()
	if getJSON(t, srv.URL, "/xrpc/com.atproto.sync.listRepos", &repos); len(repos.Repos) != 1 || repos.Repos[0]["head"] != commit {
		t.Errorf("listRepos: %+v", repos)
	}
}

func TestXRPCBlobAndDelete(t *testing.T) {
	p := openTestPDS(t, "")
	mustPut(t, p, crewNSID, "alice", crewRecord("did:plc:alice"))
	srv := startServer(t, p)
	did := p.DID().String()

	body := []byte(`<html><script>alert(1)</script></html>`)
	resp, err := http.Post(srv.URL+"/xrpc/com.atproto.repo.uploadBlob", "text/html", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Blob struct {
			Type string            `json:"$type"`
			Ref  map[string]string `json:"ref"`
			Mime string            `json:"mimeType"`
			Size int64             `json:"size"`
		} `json:"blob"`
	}
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	cidStr := up.Blob.Ref["$link"]
	if resp.StatusCode != 200 || up.Blob.Type != "blob" || up.Blob.Size != int64(len(body)) || !strings.HasPrefix(cidStr, "bafkrei") {
		t.Fatalf("uploadBlob: %d %+v", resp.StatusCode, up)
	}

	resp, err = http.Get(srv.URL + "/xrpc/com.atproto.sync.getBlob?did=" + did + "&cid=" + cidStr)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, body) || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") || resp.Header.Get("Content-Type") != "text/html" {
		t.Errorf("getBlob: %q headers %v", got, resp.Header)
	}

	resp, err = http.Head(srv.URL + "/xrpc/com.atproto.sync.getBlob?did=" + did + "&cid=" + cidStr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(body)) {
		t.Errorf("HEAD getBlob: %d length %d", resp.StatusCode, resp.ContentLength)
	}

	small := NewHandlers(p)
	small.MaxBlobSize = 8
	smallSrv := serveHandlers(t, small)
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = bytes.NewReader(make([]byte, 9))
		if chunked { // no Content-Length: the limit must hold while reading
			rd = io.MultiReader(rd)
		}
		resp, err = http.Post(smallSrv.URL+"/xrpc/com.atproto.repo.uploadBlob", "text/plain", rd)
		if err != nil {
			t.Fatal(err)
		}
		var xerr xrpcError
		json.NewDecoder(resp.Body).Decode(&xerr)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || xerr.Error != "BlobTooLarge" {
			t.Errorf("oversized upload (chunked=%v): %d %+v", chunked, resp.StatusCode, xerr)
		}
	}

	post := func(in string) (int, map[string]any) {
		resp, err := http.Post(srv.URL+"/xrpc/com.atproto.repo.deleteRecord", "application/json", strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	st, out := post(`{"repo":"` + did + `","collection":"io.atcr.hold.crew","rkey":"alice"}`)
	commit, rev := p.Head()
	if c, _ := out["commit"].(map[string]any); st != 200 || c["cid"] != commit || c["rev"] != rev {
		t.Errorf("deleteRecord: %d %v", st, out)
	}
	if st, out = post(`{"repo":"` + did + `","collection":"io.atcr.hold.crew","rkey":"alice"}`); st != 200 || out["commit"] != nil {
		t.Errorf("deleteRecord of absent record: %d %v", st, out)
	}
	if st, out = post(`{"repo":"did:plc:other","collection":"io.atcr.hold.crew","rkey":"alice"}`); st != 400 || out["error"] != "RepoNotFound" {
		t.Errorf("deleteRecord other repo: %d %v", st, out)
	}
	if st, _ = post(`not json`); st != 400 {
		t.Errorf("deleteRecord bad body: %d", st)
	}
}

// The router guards routes by their Auth: the repository's write routes
// must be Admins and getBlob Readers, everything else is public.
func TestRoutesDeclareWhoMayCall(t *testing.T) {
	p := openTestPDS(t, "")
	want := map[string]xrpc.Auth{
		"POST /xrpc/com.atproto.repo.uploadBlob":   xrpc.Admins,
		"POST /xrpc/com.atproto.repo.deleteRecord": xrpc.Admins,
		"GET /xrpc/com.atproto.sync.getBlob":       xrpc.Readers,
		"HEAD /xrpc/com.atproto.sync.getBlob":      xrpc.Readers,
	}
	seen := map[string]bool{}
	for _, rt := range NewHandlers(p).Routes() {
		key := rt.Method + " " + rt.URLPath()
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		if got := rt.Auth; got != want[key] { // absent from want: xrpc.Public
			t.Errorf("%s: Auth %d, want %d", key, got, want[key])
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s not listed", key)
		}
	}
	if !seen["GET /xrpc/com.atproto.sync.getRepo"] {
		t.Error("public route missing")
	}
}
