package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/bluesky-social/indigo/events"
	"github.com/gorilla/websocket"

	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
)

func TestHealthAndIdentityEndpoints(t *testing.T) {
	h := newTestHold(t, fakeAccess{})
	for path, want := range map[string]string{
		"/health":                  `{"status":"ok"}`,
		"/xrpc/_health":            `{"version":"v1.2.3"}`,
		"/.well-known/atproto-did": "did:web:hold.example.com",
	} {
		r := h.do("GET", path, "", "")
		if r.status != 200 || strings.TrimSpace(string(r.body)) != want {
			t.Errorf("%s: %d %s, want 200 %s", path, r.status, r.body, want)
		}
	}
	r := h.do("GET", "/.well-known/did.json", "", "")
	var doc struct {
		ID      string `json:"id"`
		Service []struct {
			ID              string `json:"id"`
			ServiceEndpoint string `json:"serviceEndpoint"`
		} `json:"service"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || r.status != 200 || doc.ID != "did:web:hold.example.com" || len(doc.Service) != 2 {
		t.Errorf("did.json: %d %s (%v)", r.status, r.body, err)
	}
	if r := h.do("GET", "/xrpc/com.atproto.sync.getLatestCommit?did=did:web:hold.example.com", "", ""); r.status != 200 {
		t.Errorf("public PDS route: %d %s", r.status, r.body)
	}
}

func TestUnknownRoutes(t *testing.T) {
	h := newTestHold(t, fakeAccess{})
	r := h.do("GET", "/xrpc/io.atcr.hold.noSuchMethod", "", "")
	if r.status != 404 || r.errorName() != "MethodNotImplemented" {
		t.Errorf("unknown method: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/nope", "", ""); r.status != 404 || r.errorName() != "NotFound" {
		t.Errorf("unknown path: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/xrpc/com.atproto.repo.getRecord", "", "{}"); r.status != 405 {
		t.Errorf("wrong method: %d %s", r.status, r.body)
	}
}

// The PDS's write routes need a token for the method from an admin.
func TestAdminRoutes(t *testing.T) {
	h := newTestHold(t, fakeAccess{admins: map[syntax.DID]bool{adminDID: true}})
	const lxm = "com.atproto.repo.deleteRecord"
	body := `{"repo":"did:web:hold.example.com","collection":"io.atcr.hold.crew","rkey":"abc"}`
	cases := []struct {
		name    string
		token   string
		status  int
		errName string
	}{
		{"no token", "", 401, "AuthRequired"},
		{"not admin", h.token(crewDID, lxm), 403, "Forbidden"},
		{"wrong lxm", h.token(adminDID, "com.atproto.repo.uploadBlob"), 401, "BadJwtLexiconMethod"},
		{"wrong aud", h.tokenFor(adminDID, "did:web:other.example.com", lxm, time.Minute), 401, "BadJwtAudience"},
		{"expired", h.tokenFor(adminDID, h.pds.DID(), lxm, -time.Minute), 401, "JwtExpired"},
		{"service fragment aud", h.tokenFor(adminDID, h.pds.DID()+"#atcr_hold", lxm, time.Minute), 200, ""},
		{"admin", h.token(adminDID, lxm), 200, ""},
	}
	for _, tc := range cases {
		r := h.do("POST", "/xrpc/"+lxm, tc.token, body)
		if r.status != tc.status || r.errorName() != tc.errName {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.errName)
		}
	}
	up := h.do("POST", "/xrpc/com.atproto.repo.uploadBlob", h.token(adminDID, "com.atproto.repo.uploadBlob"), "sbom")
	if up.status != 200 || !bytes.Contains(up.body, []byte(`"$type":"blob"`)) {
		t.Errorf("uploadBlob by admin: %d %s", up.status, up.body)
	}
}

func TestGetBlobDispatchAndReadCheck(t *testing.T) {
	var ociCalls []string
	oci := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := serviceauth.CallerDID(r.Context())
		ociCalls = append(ociCalls, r.URL.Query().Get("cid")+" "+caller.String())
		http.Redirect(w, r, "https://s3.example.com/presigned", http.StatusTemporaryRedirect)
	})
	withOCI := func(o *Options) { o.OCIGetBlob = oci }
	private := newTestHold(t, fakeAccess{readers: map[syntax.DID]bool{crewDID: true}}, withOCI)
	blob, err := private.pds.UploadBlob(t.Context(), "application/json", strings.NewReader(`{"sbom":1}`), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	const lxm = "com.atproto.sync.getBlob"
	digest := "sha256:" + strings.Repeat("ab", 32)
	ociPath := "/xrpc/" + lxm + "?did=did:web:hold.example.com&cid=" + digest
	cidPath := "/xrpc/" + lxm + "?did=did:web:hold.example.com&cid=" + blob.Ref.String()

	if r := private.do("GET", ociPath, "", ""); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous on private hold: %d %s", r.status, r.body)
	}
	if r := private.do("GET", ociPath, private.token(strangerDID, lxm), ""); r.status != 403 {
		t.Errorf("stranger on private hold: %d %s", r.status, r.body)
	}
	r := private.do("GET", ociPath, private.token(crewDID, lxm), "")
	if r.status != 307 || r.header.Get("Location") != "https://s3.example.com/presigned" {
		t.Errorf("crew OCI getBlob: %d %s", r.status, r.body)
	}
	if r := private.do("HEAD", ociPath, private.token(crewDID, lxm), ""); r.status != 307 {
		t.Errorf("crew OCI HEAD: %d", r.status)
	}
	r = private.do("GET", cidPath, private.token(crewDID, lxm), "")
	if r.status != 200 || string(r.body) != `{"sbom":1}` {
		t.Errorf("crew ATProto getBlob: %d %s", r.status, r.body)
	}
	if want := []string{digest + " " + crewDID.String(), digest + " " + crewDID.String()}; fmt.Sprint(ociCalls) != fmt.Sprint(want) {
		t.Errorf("OCI handler calls %v, want %v", ociCalls, want)
	}

	public := newTestHold(t, fakeAccess{public: true}, withOCI)
	if r := public.do("GET", ociPath, "", ""); r.status != 307 {
		t.Errorf("anonymous on public hold: %d %s", r.status, r.body)
	}
	// A token that is present but bad is refused, never taken as anonymous.
	if r := public.do("GET", ociPath, "garbage", ""); r.status != 401 {
		t.Errorf("bad token on public hold: %d %s", r.status, r.body)
	}
	noOCI := newTestHold(t, fakeAccess{public: true})
	if r := noOCI.do("GET", ociPath, "", ""); r.status != 404 || r.errorName() != "BlobNotFound" {
		t.Errorf("no OCI handler: %d %s", r.status, r.body)
	}
}

func TestHoldRoutes(t *testing.T) {
	echoCaller := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := serviceauth.CallerDID(r.Context())
		_ = xrpc.WriteJSON(w, 200, map[string]string{"caller": caller.String()})
	})
	h := newTestHold(t, fakeAccess{}, func(o *Options) {
		o.Routes = append(o.Routes,
			xrpc.Route{Method: "GET", NSID: "io.atcr.hold.listTiers", Auth: xrpc.Public, Handler: echoCaller},
			xrpc.Route{Method: "POST", NSID: "io.atcr.hold.requestCrew", Auth: xrpc.ServiceAuth, Handler: echoCaller},
		)
	})
	if r := h.do("GET", "/xrpc/io.atcr.hold.listTiers", "", ""); r.status != 200 || string(r.body) != "{\"caller\":\"\"}\n" {
		t.Errorf("public route: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/xrpc/io.atcr.hold.requestCrew", "", ""); r.status != 401 || r.errorName() != "AuthRequired" {
		t.Errorf("service-auth route without token: %d %s", r.status, r.body)
	}
	tok := h.token(crewDID, "io.atcr.hold.requestCrew")
	if r := h.do("POST", "/xrpc/io.atcr.hold.requestCrew", tok, ""); r.status != 200 || !strings.Contains(string(r.body), crewDID.String()) {
		t.Errorf("service-auth route: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/xrpc/io.atcr.hold.requestCrew", h.token(crewDID, "io.atcr.hold.getQuota"), ""); r.status != 401 {
		t.Errorf("token for another method: %d %s", r.status, r.body)
	}
}

// The firehose's WebSocket upgrade works through the middleware chain.
func TestFirehoseThroughMiddleware(t *testing.T) {
	h := newTestHold(t, fakeAccess{})
	// cursor=0 replays the stored events before the live ones: the
	// subscription may be registered on the server only after the dial
	// returned, and a record created in between must not be missed.
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/xrpc/com.atproto.sync.subscribeRepos?cursor=0"
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial firehose: %v", err)
	}
	resp.Body.Close()
	defer conn.Close()
	rec := map[string]any{"member": crewDID.String(), "role": "member", "permissions": []any{"blob:read"}, "addedAt": "2026-01-02T03:04:05.000Z"}
	if _, _, err := h.pds.CreateRecord(t.Context(), "io.atcr.hold.crew", "", rec); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for frames := 0; ; frames++ {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("read frame %d: %v", frames, err)
		}
		var evt events.XRPCStreamEvent
		if err := evt.Deserialize(bytes.NewReader(msg)); err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		if evt.RepoCommit != nil && len(evt.RepoCommit.Ops) == 1 && strings.HasPrefix(evt.RepoCommit.Ops[0].Path, "io.atcr.hold.crew/") {
			return
		}
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without Verifier and Access succeeded")
	}
}

// A route the router could not serve as declared stops New.
func TestNewRefusesBadRoutes(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	valid := xrpc.Route{Method: "GET", NSID: "io.atcr.hold.listTiers", Auth: xrpc.Public, Handler: ok}
	for _, tc := range []struct {
		name, want string
		routes     []xrpc.Route
	}{
		{"listed twice", "listed twice", []xrpc.Route{valid, valid}},
		{"bad NSID", "not an nsid", []xrpc.Route{{Method: "GET", NSID: "not an nsid", Handler: ok}}},
		{"NSID and path", "both", []xrpc.Route{{Method: "GET", NSID: "io.atcr.hold.listTiers", Path: "/x", Handler: ok}}},
		{"relative path", "absolute path", []xrpc.Route{{Method: "GET", Path: "health", Handler: ok}}},
		{"no method", "no HTTP method", []xrpc.Route{{NSID: "io.atcr.hold.listTiers", Handler: ok}}},
		{"no handler", "no handler", []xrpc.Route{{Method: "GET", NSID: "io.atcr.hold.listTiers"}}},
		{"unknown auth", "unknown auth", []xrpc.Route{{Method: "GET", NSID: "io.atcr.hold.listTiers", Auth: xrpc.Auth(99), Handler: ok}}},
		{"health clashes", "listed twice", []xrpc.Route{{Method: "GET", Path: "/health", Handler: ok}}},
	} {
		opts := Options{Verifier: &serviceauth.Verifier{}, Access: fakeAccess{}, Routes: tc.routes}
		if _, err := New(opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestIsOCIDigest(t *testing.T) {
	for cid, want := range map[string]bool{
		"sha256:abc": true, "sha512:" + strings.Repeat("a", 128): true,
		"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku": false,
		"md5:abc": false, "": false,
	} {
		if got := isOCIDigest(cid); got != want {
			t.Errorf("isOCIDigest(%q) = %v", cid, got)
		}
	}
}
