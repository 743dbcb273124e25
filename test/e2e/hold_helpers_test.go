//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// holdMaxResponse bounds what the helpers read of a hold or PDS answer; blob
// bytes go through holdTarget.fetchBlob, which hashes them as a stream instead.
const holdMaxResponse = 1 << 20

// holdUser is a PDS account signed in with indigo's atclient (an app-password
// session on https://pds.test). Its service tokens come from the PDS, signed
// with the account's own key, exactly as the AppView gets them.
type holdUser struct {
	Handle string
	DID    syntax.DID
	client *atclient.APIClient
}

// holdLogin opens a session for handle on the stack's PDS.
func holdLogin(t *testing.T, handle, password string) holdUser {
	t.Helper()
	client, err := atclient.LoginWithPasswordHost(testContext(t), env(t, "ATCR_PDS_URL"), handle, password, "", nil)
	if err != nil {
		t.Fatalf("createSession as %s: %v", handle, err)
	}
	if client.AccountDID == nil {
		t.Fatalf("session of %s names no DID", handle)
	}
	return holdUser{Handle: handle, DID: *client.AccountDID, client: client}
}

// holdAlice is the stack's first account: the owner of both holds.
func holdAlice(t *testing.T) holdUser {
	t.Helper()
	return holdLogin(t, env(t, "ATCR_USERNAME"), env(t, "ATCR_PASSWORD"))
}

// holdBob is the stack's second account: no special standing on either hold.
func holdBob(t *testing.T) holdUser {
	t.Helper()
	return holdLogin(t, env(t, "ATCR_USERNAME2"), env(t, "ATCR_PASSWORD2"))
}

// holdNewAccount creates a fresh account on the PDS (inviteRequired is off),
// so a test that needs a user the holds have never seen stays repeatable on a
// stack kept up between runs.
func holdNewAccount(t *testing.T, prefix string) holdUser {
	t.Helper()
	ctx := testContext(t)
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	name := prefix + "-" + hex.EncodeToString(suffix) // the PDS allows 3-18 characters
	handle := name + ".pds.test"
	password := "pw-" + hex.EncodeToString(suffix) + "-" + name
	var out struct {
		DID    string `json:"did"`
		Handle string `json:"handle"`
	}
	err := atclient.NewAPIClient(env(t, "ATCR_PDS_URL")).Post(ctx, syntax.NSID("com.atproto.server.createAccount"),
		map[string]any{"handle": handle, "email": name + "@example.com", "password": password}, &out)
	if err != nil {
		t.Fatalf("createAccount %s: %v", handle, err)
	}
	u := holdLogin(t, handle, password)
	if u.DID.String() != out.DID {
		t.Fatalf("session DID %s, createAccount returned %s", u.DID, out.DID)
	}
	return u
}

// token mints a service token with com.atproto.server.getServiceAuth. A zero
// exp leaves the lifetime to the PDS (60 s).
func (u holdUser) token(t *testing.T, aud, lxm string, exp time.Time) string {
	t.Helper()
	params := map[string]any{"aud": aud, "lxm": lxm}
	if !exp.IsZero() {
		params["exp"] = exp.Unix()
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := u.client.Get(testContext(t), syntax.NSID("com.atproto.server.getServiceAuth"), params, &out); err != nil {
		t.Fatalf("getServiceAuth as %s (aud %s, lxm %s): %v", u.Handle, aud, lxm, err)
	}
	if out.Token == "" {
		t.Fatalf("getServiceAuth as %s returned no token", u.Handle)
	}
	return out.Token
}

// holdTarget is one of the stack's holds as a client sees it. Aud is the
// audience tokens are minted for: the hold's DID, or DID#atcr_hold.
type holdTarget struct {
	URL string
	DID string
	Aud string
}

func holdPublic(t *testing.T) holdTarget {
	t.Helper()
	did := env(t, "ATCR_HOLD_DID")
	return holdTarget{URL: env(t, "ATCR_HOLD_URL"), DID: did, Aud: did}
}

func holdPrivate(t *testing.T) holdTarget {
	t.Helper()
	did := env(t, "ATCR_PRIVATE_HOLD_DID")
	return holdTarget{URL: env(t, "ATCR_PRIVATE_HOLD_URL"), DID: did, Aud: did}
}

// withAud returns the same hold addressed with another token audience.
func (h holdTarget) withAud(aud string) holdTarget {
	h.Aud = aud
	return h
}

// holdResponse is a hold's (or S3's) answer, body bounded.
type holdResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorName is the XRPC error name of a failed call ("" when there is none).
func (r holdResponse) errorName() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error
}

func (r holdResponse) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// decode unmarshals a 200 JSON answer into out, failing the test otherwise.
func (r holdResponse) decode(t *testing.T, what string, out any) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %s", what, r)
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("%s: decode %s: %v", what, r.Body, err)
	}
}

// holdHTTP is the client of every helper: Go's system roots, which the stack
// extends with Caddy's root through SSL_CERT_FILE.
var holdHTTP = &http.Client{Timeout: 60 * time.Second}

// holdDo sends one request; a non-nil body is sent as JSON unless it is
// []byte (raw bytes, e.g. a part).
func holdDo(t *testing.T, method, rawURL, token string, body any) holdResponse {
	t.Helper()
	var rd io.Reader
	var contentType string
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/octet-stream"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(testContext(t), method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := holdHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, holdMaxResponse))
	if err != nil {
		t.Fatalf("read %s %s: %v", method, rawURL, err)
	}
	return holdResponse{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// xrpcURL is the URL of method nsid on the hold, with query parameters.
func (h holdTarget) xrpcURL(nsid string, query url.Values) string {
	u := h.URL + "/xrpc/" + nsid
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// call invokes nsid on the hold as u, with a fresh token for (h.Aud, nsid);
// a nil u calls anonymously.
func (h holdTarget) call(t *testing.T, u *holdUser, method, nsid string, query url.Values, body any) holdResponse {
	t.Helper()
	token := ""
	if u != nil {
		token = u.token(t, h.Aud, nsid, time.Time{})
	}
	return holdDo(t, method, h.xrpcURL(nsid, query), token, body)
}

// blobQuery is the getBlob query for an OCI digest on this hold.
func (h holdTarget) blobQuery(d oci.Digest) url.Values {
	return url.Values{"did": {h.DID}, "cid": {d.String()}}
}

// headBlob asks the hold about a blob (HEAD getBlob): 200 with its size, 404
// when it is not stored, 401/403 when u may not read.
func (h holdTarget) headBlob(t *testing.T, u *holdUser, d oci.Digest) holdResponse {
	t.Helper()
	return h.call(t, u, http.MethodHead, "com.atproto.sync.getBlob", h.blobQuery(d), nil)
}

// holdRandom returns n random bytes.
func holdRandom(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// holdUpload is an upload session on a hold with the parts sent so far.
type holdUpload struct {
	hold  holdTarget
	user  holdUser
	ID    string
	Parts []atcr.HoldCompleteUpload_Part
}

// initiate starts an upload session (io.atcr.hold.initiateUpload); digest
// may be empty, as for a chunked OCI push.
func (h holdTarget) initiate(t *testing.T, u holdUser, digest string) *holdUpload {
	t.Helper()
	var out atcr.HoldInitiateUpload_Output
	h.call(t, &u, http.MethodPost, atcr.HoldInitiateUploadNSID, nil,
		atcr.HoldInitiateUpload_Input{Digest: digest}).decode(t, "initiateUpload", &out)
	if out.UploadID == "" {
		t.Fatal("initiateUpload returned no uploadId")
	}
	return &holdUpload{hold: h, user: u, ID: out.UploadID}
}

// putPart asks for the part's URL (io.atcr.hold.getPartUploadUrl, stating
// its size as the AppView does), sends the bytes there with the method and
// headers the hold named, and records the ETag. It returns the URL, so a
// test can see where the bytes went. A presigned URL is first tried with
// one byte more than it was signed for, which S3 (through Caddy) refuses.
func (up *holdUpload) putPart(t *testing.T, number int64, data []byte) string {
	t.Helper()
	var out struct {
		URL     string            `json:"url"`
		Method  string            `json:"method"`
		Headers map[string]string `json:"headers"`
	}
	size := int64(len(data))
	up.hold.call(t, &up.user, http.MethodPost, atcr.HoldGetPartUploadURLNSID, nil,
		atcr.HoldGetPartUploadURL_Input{UploadID: up.ID, PartNumber: number, Size: &size}).decode(t, "getPartUploadUrl", &out)
	if out.Method != http.MethodPut {
		t.Fatalf("getPartUploadUrl method %q, want PUT", out.Method)
	}
	send := func(body []byte) (*http.Response, error) {
		req, err := http.NewRequestWithContext(testContext(t), out.Method, out.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range out.Headers {
			req.Header.Set(k, v)
		}
		return holdHTTP.Do(req)
	}
	if strings.Contains(out.URL, "X-Amz-Signature") {
		if resp, err := send(append(bytes.Clone(data), 'x')); err == nil {
			resp.Body.Close()
			// 403 from S3, or 502 from Caddy when S3 refused before the
			// body was through and reset the connection.
			if resp.StatusCode < 400 {
				t.Fatalf("PUT of part %d with a byte more than its presigned size: %d, want it refused", number, resp.StatusCode)
			}
		}
	}
	resp, err := send(data)
	if err != nil {
		t.Fatalf("PUT part %d: %v", number, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, holdMaxResponse))
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT part %d to %s: %d %s", number, out.URL, resp.StatusCode, body)
	}
	if etag == "" { // the hold's own uploadPart answers with {"etag": …}
		var own atcr.HoldUploadPart_Output
		if err := json.Unmarshal(body, &own); err != nil || own.ETag == "" {
			t.Fatalf("PUT part %d: no ETag in the answer: %s", number, body)
		}
		etag = own.ETag
	}
	up.Parts = append(up.Parts, atcr.HoldCompleteUpload_Part{PartNumber: number, ETag: etag})
	return out.URL
}

// complete asks the hold to assemble and verify the parts as digest.
func (up *holdUpload) complete(t *testing.T, digest string) holdResponse {
	t.Helper()
	return up.hold.call(t, &up.user, http.MethodPost, atcr.HoldCompleteUploadNSID, nil,
		atcr.HoldCompleteUpload_Input{UploadID: up.ID, Digest: digest, Parts: up.Parts})
}

// completeOK completes the upload and checks the hold's answer.
func (up *holdUpload) completeOK(t *testing.T, d oci.Digest, size int64) {
	t.Helper()
	var out atcr.HoldCompleteUpload_Output
	up.complete(t, d.String()).decode(t, "completeUpload", &out)
	if out.Status != "completed" || out.Digest != d.String() || out.Size != size {
		t.Fatalf("completeUpload = %+v, want completed %s of %d bytes", out, d, size)
	}
}

// pushBlob stores data on the hold as u in one part and returns its digest.
func (h holdTarget) pushBlob(t *testing.T, u holdUser, data []byte) oci.Digest {
	t.Helper()
	d := oci.FromBytes(oci.SHA256, data)
	up := h.initiate(t, u, d.String())
	up.putPart(t, 1, data)
	up.completeOK(t, d, int64(len(data)))
	return d
}

// fetchBlob GETs a blob through getBlob, following the hold's 307, and
// returns the first answer, the final URL and the digest and size of what the
// final answer carried.
func (h holdTarget) fetchBlob(t *testing.T, u *holdUser, d oci.Digest) (first holdResponse, final *url.URL, got oci.Digest, size int64) {
	t.Helper()
	token := ""
	if u != nil {
		token = u.token(t, h.Aud, "com.atproto.sync.getBlob", time.Time{})
	}
	noFollow := &http.Client{Timeout: holdHTTP.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, h.xrpcURL("com.atproto.sync.getBlob", h.blobQuery(d)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("GET getBlob %s: %v", d, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, holdMaxResponse))
	resp.Body.Close()
	first = holdResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if first.Status != http.StatusTemporaryRedirect {
		return first, nil, oci.Digest{}, 0
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("getBlob 307 without a usable Location: %v", err)
	}
	// The presigned URL carries its own authorization: no token goes there.
	blobResp, err := holdHTTP.Get(loc.String())
	if err != nil {
		t.Fatalf("GET %s: %v", loc.Redacted(), err)
	}
	defer blobResp.Body.Close()
	if blobResp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(blobResp.Body, holdMaxResponse))
		t.Fatalf("GET %s://%s%s: %d %s", loc.Scheme, loc.Host, loc.Path, blobResp.StatusCode, msg)
	}
	hasher := oci.SHA256.New()
	size, err = io.Copy(hasher, blobResp.Body)
	if err != nil {
		t.Fatalf("read blob from %s: %v", loc.Host, err)
	}
	return first, blobResp.Request.URL, oci.FromHash(oci.SHA256, hasher), size
}

// holdCreateManifestRecord writes an io.atcr.manifest record naming the blob
// into u's PDS repository, as the AppView does before notifyManifest, and
// deletes it when the test ends. It returns the record's AT-URI.
// holdManifestDigest is the manifest digest holdCreateManifestRecord's
// record carries (the hold checks notifyManifest's manifestDigest against it).
func holdManifestDigest(repository, layerDigest string) string {
	return oci.FromBytes(oci.SHA256, []byte(repository+layerDigest)).String()
}

func holdCreateManifestRecord(t *testing.T, u holdUser, repository string, hold string, layer atcr.Manifest_BlobReference) string {
	t.Helper()
	ctx := testContext(t)
	manifestDigest := holdManifestDigest(repository, layer.Digest)
	rec, err := atcr.ToMap(&atcr.Manifest{
		Repository: repository, Digest: manifestDigest, MediaType: "application/vnd.oci.image.manifest.v1+json",
		SchemaVersion: 2, CreatedAt: syntax.DatetimeNow().String(), HoldDID: hold,
		Layers: []atcr.Manifest_BlobReference{layer},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		URI string `json:"uri"`
	}
	err = u.client.Post(ctx, syntax.NSID("com.atproto.repo.createRecord"),
		map[string]any{"repo": u.DID.String(), "collection": atcr.ManifestNSID, "record": rec}, &out)
	if err != nil {
		t.Fatalf("createRecord %s in %s's PDS: %v", atcr.ManifestNSID, u.Handle, err)
	}
	uri, err := syntax.ParseATURI(out.URI)
	if err != nil {
		t.Fatalf("createRecord returned %q: %v", out.URI, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := u.client.Post(ctx, syntax.NSID("com.atproto.repo.deleteRecord"), map[string]any{
			"repo": u.DID.String(), "collection": atcr.ManifestNSID, "rkey": uri.RecordKey().String(),
		}, nil)
		if err != nil {
			t.Errorf("delete %s: %v", uri, err)
		}
	})
	return uri.String()
}

// holdRequireStatus fails the test unless r has the status and XRPC error.
func holdRequireStatus(t *testing.T, what string, r holdResponse, status int, errName string) {
	t.Helper()
	if r.Status != status || (errName != "" && r.errorName() != errName) {
		want := fmt.Sprint(status)
		if errName != "" {
			want += " " + errName
		}
		t.Fatalf("%s: %s, want %s", what, r, want)
	}
}
