//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/oci"
)

// faultBound is the stated bound of every answer under a fault: the
// AppView gives the PDS 30 s per read (10 s per write, 15 s per service
// token), the PLC 10 s and the hold 30 s per call (notifyManifest 3 × 10 s
// with 2.5 s of back-off), so no request waits for a dead upstream longer
// than this.
const faultBound = 45 * time.Second

// faultAnswer is the registry's answer to one request of a push, a pull or
// a login, with the time it took. Err is set when no answer came within
// faultBound (or the connection failed).
type faultAnswer struct {
	Step   string
	Method string
	regResponse
	Took time.Duration
	Err  error
}

func (a *faultAnswer) String() string {
	if a == nil {
		return "success"
	}
	if a.Err != nil {
		return fmt.Sprintf("%s: no answer after %s: %v", a.Step, a.Took.Round(time.Millisecond), a.Err)
	}
	return fmt.Sprintf("%s: %d after %s, Retry-After %q, body %.300s", a.Step, a.Status,
		a.Took.Round(time.Millisecond), a.Header.Get("Retry-After"), bytes.TrimSpace(a.Body))
}

// ok reports whether the step got one of the statuses it expects.
func (a *faultAnswer) ok(statuses ...int) bool {
	if a.Err != nil {
		return false
	}
	for _, s := range statuses {
		if a.Status == s {
			return true
		}
	}
	return false
}

// do sends one request to the AppView (a path as written, or an absolute
// URL such as a presigned Location) and waits at most faultBound.
func (a *faultAppView) do(step, method, target, token string, body []byte, hdr map[string]string) *faultAnswer {
	if !strings.HasPrefix(target, "https://") {
		target = a.Base + target
	}
	return faultDo(a.Client, step, method, target, token, body, hdr)
}

// faultDo sends one request with client and waits at most faultBound.
func faultDo(client *http.Client, step, method, target, token string, body []byte, hdr map[string]string) *faultAnswer {
	ctx, cancel := context.WithTimeout(context.Background(), faultBound)
	defer cancel()
	ans := &faultAnswer{Step: step, Method: method}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		ans.Err = err
		return ans
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		if b, err = io.ReadAll(io.LimitReader(resp.Body, regMaxBody)); err == nil {
			ans.regResponse = regResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
		}
	}
	ans.Took, ans.Err = time.Since(start), err
	return ans
}

// token asks /auth/token for scope with HTTP Basic credentials, as Docker does.
func (a *faultAppView) token(t *testing.T, user, password, scope string) *faultAnswer {
	t.Helper()
	u, err := url.Parse(a.Base)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"service": {u.Host}, "scope": {scope}}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	return a.do("/auth/token", http.MethodGet, "/auth/token?"+q.Encode(), "", nil, map[string]string{"Authorization": basic})
}

// faultImage is a small image of random content: a config and layers.
type faultImage struct {
	Repo     string // below the owner: "faults/pds-…"
	Tag      string
	Blobs    [][]byte // config first
	Manifest []byte
}

func newFaultImage(t *testing.T, repo, tag string, layerSizes ...int) faultImage {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","note":"` + repo + ":" + tag + ":" + fmt.Sprintf("%x", holdRandom(t, 8)) + `"}`)
	img := faultImage{Repo: repo, Tag: tag, Blobs: [][]byte{cfg}}
	layers := make([]string, 0, len(layerSizes))
	for _, n := range layerSizes {
		b := holdRandom(t, n)
		img.Blobs = append(img.Blobs, b)
		layers = append(layers, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}`,
			oci.FromBytes(oci.SHA256, b), n))
	}
	img.Manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[%s]}`,
		oci.MediaTypeOCIManifest, oci.MediaTypeOCIConfig, oci.FromBytes(oci.SHA256, cfg), len(cfg), strings.Join(layers, ",")))
	return img
}

// Digest is the manifest's digest.
func (img faultImage) Digest() oci.Digest { return oci.FromBytes(oci.SHA256, img.Manifest) }

// push pushes img as clients do: per blob a HEAD, and when the registry
// lacks it POST, one PATCH and PUT ?digest=; then the manifest by tag. It
// returns the first answer that is not a success, or nil.
func (w *faultWorld) push(t *testing.T, token string, img faultImage) *faultAnswer {
	t.Helper()
	name := "/v2/" + w.Name + "/" + img.Repo
	for _, blob := range img.Blobs {
		d := oci.FromBytes(oci.SHA256, blob)
		head := w.AppView.do("HEAD blob", http.MethodHead, name+"/blobs/"+d.String(), token, nil, nil)
		if head.ok(http.StatusOK) {
			continue
		}
		if !head.ok(http.StatusNotFound) {
			return head
		}
		if a := w.uploadBlob(token, name, blob); a != nil {
			return a
		}
	}
	return w.putManifest(token, img)
}

// putManifest is the last step of a push: PUT the manifest by tag.
func (w *faultWorld) putManifest(token string, img faultImage) *faultAnswer {
	put := w.AppView.do("PUT manifest", http.MethodPut, "/v2/"+w.Name+"/"+img.Repo+"/manifests/"+img.Tag, token,
		img.Manifest, map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	if !put.ok(http.StatusCreated) {
		return put
	}
	return nil
}

// uploadBlobs uploads every blob of img (the push without its manifest).
func (w *faultWorld) uploadBlobs(t *testing.T, token string, img faultImage) {
	t.Helper()
	for _, blob := range img.Blobs {
		requireSuccess(t, "upload a blob of "+img.Tag, w.uploadBlob(token, "/v2/"+w.Name+"/"+img.Repo, blob))
	}
}

// uploadBlob uploads one blob in a session: POST, PATCH, PUT ?digest=.
func (w *faultWorld) uploadBlob(token, name string, blob []byte) *faultAnswer {
	post := w.AppView.do("POST upload", http.MethodPost, name+"/blobs/uploads/", token, nil, nil)
	if !post.ok(http.StatusAccepted) {
		return post
	}
	loc := post.Header.Get("Location")
	patch := w.AppView.do("PATCH upload", http.MethodPatch, loc, token, blob,
		map[string]string{"Content-Type": "application/octet-stream"})
	if !patch.ok(http.StatusAccepted) {
		return patch
	}
	return w.finishBlob(token, patch.Header.Get("Location"), blob)
}

// openUpload opens an upload session and PATCHes data into it (a small
// chunk stays in AppView memory until the PUT), returning the session's
// Location.
func (w *faultWorld) openUpload(t *testing.T, token, name string, data []byte) string {
	t.Helper()
	post := w.AppView.do("POST upload", http.MethodPost, name+"/blobs/uploads/", token, nil, nil)
	if !post.ok(http.StatusAccepted) {
		t.Fatalf("open an upload session: %s", post)
	}
	patch := w.AppView.do("PATCH upload", http.MethodPatch, post.Header.Get("Location"), token, data,
		map[string]string{"Content-Type": "application/octet-stream"})
	if !patch.ok(http.StatusAccepted) {
		t.Fatalf("PATCH: %s", patch)
	}
	return patch.Header.Get("Location")
}

// finishBlob is the PUT ?digest= that ends an upload session at loc.
func (w *faultWorld) finishBlob(token, loc string, blob []byte) *faultAnswer {
	put := w.AppView.do("PUT upload", http.MethodPut, withDigest(loc, blob), token, nil, nil)
	if !put.ok(http.StatusCreated) {
		return put
	}
	return nil
}

// withDigest is an upload session's URL with ?digest= of blob.
func withDigest(loc string, blob []byte) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + "digest=" + oci.FromBytes(oci.SHA256, blob).String()
}

// pull GETs the manifest by tag and every blob, following the 307 to S3,
// and fails the test (Errorf: pulls run in goroutines) if anything arrives
// different from what was pushed. It returns the first answer that is not
// a success, or nil.
func (w *faultWorld) pull(t *testing.T, token string, img faultImage) *faultAnswer {
	t.Helper()
	name := "/v2/" + w.Name + "/" + img.Repo
	m := w.AppView.do("GET manifest", http.MethodGet, name+"/manifests/"+img.Tag, token, nil,
		map[string]string{"Accept": oci.MediaTypeOCIManifest})
	if !m.ok(http.StatusOK) {
		return m
	}
	if !bytes.Equal(m.Body, img.Manifest) {
		t.Errorf("pull %s:%s: manifest differs from the one pushed:\n%s\nwant\n%s", img.Repo, img.Tag, m.Body, img.Manifest)
		m.Err = errors.New("manifest differs from the one pushed")
		return m
	}
	for _, blob := range img.Blobs {
		if a := w.pullBlob(t, token, name, blob); a != nil {
			return a
		}
	}
	return nil
}

// pullBlob GETs one blob and follows the redirect to S3.
func (w *faultWorld) pullBlob(t *testing.T, token, name string, blob []byte) *faultAnswer {
	t.Helper()
	d := oci.FromBytes(oci.SHA256, blob)
	get := w.AppView.do("GET blob", http.MethodGet, name+"/blobs/"+d.String(), token, nil, nil)
	if !get.ok(http.StatusTemporaryRedirect) {
		return get
	}
	s3, got, size := faultFetch(w.AppView.Client, get.Header.Get("Location"))
	if !s3.ok(http.StatusOK) {
		return s3
	}
	if got != d {
		t.Errorf("blob %s came back as %s (%d bytes, want %d)", d, got, size, len(blob))
		s3.Err = errors.New("blob differs from the one pushed")
		return s3
	}
	return nil
}

// faultFetch GETs a blob from a presigned URL within faultBound, hashing
// the body as it arrives; an error answer's body is kept.
func faultFetch(client *http.Client, target string) (ans *faultAnswer, got oci.Digest, size int64) {
	ctx, cancel := context.WithTimeout(context.Background(), faultBound)
	defer cancel()
	ans = &faultAnswer{Step: "GET blob from S3", Method: http.MethodGet}
	start := time.Now()
	defer func() { ans.Took = time.Since(start) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		ans.Err = err
		return ans, got, 0
	}
	resp, err := client.Do(req)
	if err != nil {
		ans.Err = err
		return ans, got, 0
	}
	defer resp.Body.Close()
	ans.regResponse = regResponse{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		ans.Body, ans.Err = io.ReadAll(io.LimitReader(resp.Body, regMaxBody))
		return ans, got, 0
	}
	hasher := oci.SHA256.New()
	size, ans.Err = io.Copy(hasher, resp.Body)
	return ans, oci.FromHash(oci.SHA256, hasher), size
}

// message is the error message of an OCI error body or an XRPC one.
func (a *faultAnswer) message() string {
	if _, msg := a.errorCode(); msg != "" {
		return msg
	}
	var x struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(a.Body, &x)
	return x.Message
}

// requireFaultAnswer fails unless a is the answer to an upstream outage: 502
// or 503 within faultBound, with Retry-After (seconds), an OCI error whose
// message names the failed upstream and nothing internal.
func requireFaultAnswer(t *testing.T, what string, a *faultAnswer, upstream ...string) {
	t.Helper()
	switch {
	case a == nil:
		t.Errorf("%s: succeeded; the fault was not in its path", what)
		return
	case a.Err != nil:
		t.Errorf("%s: no answer within %s (%v)", what, faultBound, a)
		return
	case a.Status != http.StatusBadGateway && a.Status != http.StatusServiceUnavailable:
		t.Errorf("%s: %s, want 502 or 503", what, a)
		return
	}
	if s, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("%s: %s, want Retry-After in seconds", what, a)
	}
	msg := a.message()
	if a.Method == http.MethodHead {
		t.Logf("%s: %s", what, a)
		return
	}
	named := false
	for _, u := range upstream {
		named = named || strings.Contains(msg, u)
	}
	if !named || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "xrpc") {
		t.Errorf("%s: %s, want an error message naming %s and nothing internal", what, a, strings.Join(upstream, " or "))
	}
	t.Logf("%s: %s", what, a)
}

// requireSuccess fails unless a (a push, a pull) succeeded.
func requireSuccess(t *testing.T, what string, a *faultAnswer) {
	t.Helper()
	if a != nil {
		t.Fatalf("%s: %s", what, a)
	}
}

// requireRecords checks the account's records of repo in its PDS: one
// manifest record per image of want and no other, and exactly the tags of
// want, each pointing at its image's manifest record. A refused push
// leaves nothing; no tag points at a missing manifest.
func (w *faultWorld) requireRecords(t *testing.T, repo string, want ...faultImage) {
	t.Helper()
	bad := false
	errorf := func(format string, args ...any) {
		t.Helper()
		bad = true
		t.Errorf(format, args...)
	}
	manifests := regRecordsOf(regRecords(t, w.Name, "io.atcr.manifest"), repo)
	tags := regRecordsOf(regRecords(t, w.Name, "io.atcr.tag"), repo)
	uriOf := map[string]string{} // digest → manifest record URI
	for _, m := range manifests {
		d := fmt.Sprint(m.Value["digest"])
		if uriOf[d] != "" {
			errorf("%s: two manifest records of %s", repo, d)
		}
		uriOf[d] = m.URI
	}
	wantDigests := map[string]bool{}
	for _, img := range want {
		wantDigests[img.Digest().String()] = true
	}
	for d := range uriOf {
		if !wantDigests[d] {
			errorf("%s: a manifest record of %s, which no push completed", repo, d)
		}
	}
	tagged := map[string]string{} // tag → manifest URI
	for _, tag := range tags {
		tagged[fmt.Sprint(tag.Value["tag"])] = fmt.Sprint(tag.Value["manifest"])
	}
	for _, img := range want {
		uri := uriOf[img.Digest().String()]
		if uri == "" {
			errorf("%s: no manifest record of %s:%s (%s)", repo, img.Repo, img.Tag, img.Digest())
		}
		if tagged[img.Tag] != uri {
			errorf("%s: tag %s points at %q, want %q", repo, img.Tag, tagged[img.Tag], uri)
		}
		delete(tagged, img.Tag)
	}
	for tag, uri := range tagged {
		errorf("%s: tag %s (→ %s) that no push completed", repo, tag, uri)
	}
	if bad {
		raw, _ := json.Marshal(map[string]any{"manifests": manifests, "tags": tags})
		t.Logf("records of %s: %s", repo, raw)
	}
}

// faultRepo names a fresh repository for one test.
func faultRepo(what string) string {
	return "faults/" + what + "-" + strings.ReplaceAll(time.Now().UTC().Format("150405.000000"), ".", "")
}

// faultConcurrently runs fns at once and waits for all: requests that
// each wait for a blackholed upstream wait together.
func faultConcurrently(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); fn() }()
	}
	wg.Wait()
}
