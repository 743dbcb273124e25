//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// The cluster tests (cluster_*_test.go, TestCluster*) run on the cluster
// shape of the stack (test/stack/e2e.sh cluster): two AppViews behind
// Caddy's round robin at https://atcr.internal, on one PostgreSQL and one
// Redis, with one identity (the same key files). Each AppView can also be
// reached alone under the same name: Caddy serves atcr.internal on :8443
// (appview-a) and :8444 (appview-b), and a clusterNode's client dials that
// port for atcr.internal:443, so TLS, Host and X-Forwarded-* are exactly what
// the load balancer sends. Caddy logs every upstream round trip
// (ATCR_CADDY_UPSTREAM_LOG), which tells which AppView served a request.

// clusterNode is one AppView of the pair, or the load balancer.
type clusterNode struct {
	Name     string // appview-a, appview-b, lb
	Upstream string // its listen address as Caddy's log names it; "" for lb
	Client   *http.Client
}

// Base is the URL every node is addressed by.
const clusterBase = "https://atcr.internal"

// requireCluster skips a test outside the cluster shape: the ordinary stack
// has one AppView and no PostgreSQL or Redis.
func requireCluster(t *testing.T) {
	t.Helper()
	if os.Getenv("ATCR_CLUSTER") != "1" {
		t.Skip("cluster shape only: test/stack/e2e.sh cluster")
	}
}

// clusterNodes returns appview-a, appview-b and the load balancer.
func clusterNodes(t *testing.T) (a, b, lb clusterNode) {
	t.Helper()
	requireCluster(t)
	a = clusterNode{Name: "appview-a", Upstream: "127.0.0.1:5000", Client: clusterPinnedClient(env(t, "ATCR_APPVIEW_A_DIRECT"))}
	b = clusterNode{Name: "appview-b", Upstream: "127.0.0.1:5001", Client: clusterPinnedClient(env(t, "ATCR_APPVIEW_B_DIRECT"))}
	lb = clusterNode{Name: "lb", Client: regHTTP}
	return a, b, lb
}

// clusterPinnedClient is a client whose connections to atcr.internal:443 go
// to addr (one AppView's Caddy port); every other host is dialled as usual.
// It never follows redirects, as regHTTP.
func clusterPinnedClient(addr string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr.DialContext = func(ctx context.Context, network, hostport string) (net.Conn, error) {
		if hostport == "atcr.internal:443" {
			hostport = addr
		}
		return dialer.DialContext(ctx, network, hostport)
	}
	return &http.Client{Timeout: 2 * time.Minute, Transport: tr, CheckRedirect: regHTTP.CheckRedirect}
}

// do sends one request to the node; body may be nil.
func (n clusterNode) do(t *testing.T, method, target, token string, body io.Reader, hdr map[string]string) regResponse {
	t.Helper()
	r, err := n.try(method, target, token, body, hdr)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", n.Name, method, target, err)
	}
	return r
}

// try is do without the test: a failed round trip is returned.
func (n clusterNode) try(method, target, token string, body io.Reader, hdr map[string]string) (regResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if !strings.HasPrefix(target, "https://") {
		target = clusterBase + target
	}
	if body == nil {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return regResponse{}, err
	}
	if br, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(br.Len())
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if k == "Content-Length" { // a streamed body of known length
			if req.ContentLength, err = strconv.ParseInt(v, 10, 64); err != nil {
				return regResponse{}, err
			}
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := n.Client.Do(req)
	if err != nil {
		return regResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, regMaxBody))
	if err != nil {
		return regResponse{}, fmt.Errorf("read body: %w", err)
	}
	return regResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// token asks the node's /auth/token for scopes with HTTP Basic credentials.
func (n clusterNode) token(t *testing.T, user, password string, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {"atcr.internal"}, "scope": scopes}
	req, err := http.NewRequest(http.MethodGet, clusterBase+"/auth/token?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := n.Client.Do(req)
	if err != nil {
		t.Fatalf("%s: /auth/token: %v", n.Name, err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, regMaxBody)).Decode(&out)
	if resp.StatusCode != http.StatusOK || out.Token == "" {
		t.Fatalf("%s: /auth/token as %s for %v: %d", n.Name, user, scopes, resp.StatusCode)
	}
	return out.Token
}

// clusterPushScope is the scope of a push to repo.
func clusterPushScope(repo string) string { return "repository:" + repo + ":pull,push" }

// uploadStart opens an upload session (POST) and returns its location.
func (n clusterNode) uploadStart(t *testing.T, token, repo string) string {
	t.Helper()
	r := n.do(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", token, nil, nil)
	if r.Status != http.StatusAccepted || r.Header.Get("Location") == "" {
		t.Fatalf("%s: POST upload: %d %s", n.Name, r.Status, r.Body)
	}
	return clusterAbs(t, r.Header.Get("Location"))
}

// uploadChunk PATCHes data at offset and returns the new location and the
// end of the Range the node reports.
func (n clusterNode) uploadChunk(t *testing.T, token, loc string, offset int64, data []byte) (string, int64) {
	t.Helper()
	r := n.do(t, http.MethodPatch, loc, token, bytes.NewReader(data), map[string]string{
		"Content-Type":  "application/octet-stream",
		"Content-Range": fmt.Sprintf("%d-%d", offset, offset+int64(len(data))-1),
	})
	if r.Status != http.StatusAccepted {
		t.Fatalf("%s: PATCH %d bytes at %d: %d %s", n.Name, len(data), offset, r.Status, r.Body)
	}
	return clusterAbs(t, r.Header.Get("Location")), clusterRangeEnd(t, n.Name+": PATCH", r)
}

// uploadStatus asks the node for the session's state (GET, 204 with Range)
// and returns the end of the Range, -1 for an empty session.
func (n clusterNode) uploadStatus(t *testing.T, token, loc string) int64 {
	t.Helper()
	r := n.do(t, http.MethodGet, loc, token, nil, nil)
	if r.Status != http.StatusNoContent {
		t.Fatalf("%s: upload status: %d %s", n.Name, r.Status, r.Body)
	}
	return clusterRangeEnd(t, n.Name+": upload status", r)
}

// uploadFinish closes the session with PUT ?digest= and no body.
func (n clusterNode) uploadFinish(t *testing.T, token, loc string, d oci.Digest) {
	t.Helper()
	r := n.do(t, http.MethodPut, clusterWithDigest(t, loc, d), token, nil, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("%s: PUT ?digest=%s: %d %s", n.Name, d, r.Status, r.Body)
	}
	if got := r.Header.Get("Docker-Content-Digest"); got != d.String() {
		t.Errorf("%s: PUT answered Docker-Content-Digest %q, want %s", n.Name, got, d)
	}
}

// pushMonolithic uploads data in one POST ?digest=.
func (n clusterNode) pushMonolithic(t *testing.T, token, repo string, data []byte) oci.Digest {
	t.Helper()
	d := oci.FromBytes(oci.SHA256, data)
	r := n.do(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), token, bytes.NewReader(data),
		map[string]string{"Content-Type": "application/octet-stream"})
	if r.Status != http.StatusCreated {
		t.Fatalf("%s: monolithic push of %s: %d %s", n.Name, d, r.Status, r.Body)
	}
	return d
}

// putImage puts an OCI image manifest of config and layers (already pushed)
// as tag and returns the manifest's digest.
func (n clusterNode) putImage(t *testing.T, token, repo, tag string, config []byte, layers ...[]byte) oci.Digest {
	t.Helper()
	desc := func(mt string, b []byte) map[string]any {
		return map[string]any{"mediaType": mt, "digest": oci.FromBytes(oci.SHA256, b).String(), "size": len(b)}
	}
	var ls []map[string]any
	for _, l := range layers {
		ls = append(ls, desc("application/vnd.oci.image.layer.v1.tar", l))
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        desc("application/vnd.oci.image.config.v1+json", config),
		"layers":        ls,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := n.do(t, http.MethodPut, "/v2/"+repo+"/manifests/"+tag, token, bytes.NewReader(manifest),
		map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
	if r.Status != http.StatusCreated {
		t.Fatalf("%s: PUT manifest %s:%s: %d %s", n.Name, repo, tag, r.Status, r.Body)
	}
	return oci.FromBytes(oci.SHA256, manifest)
}

// pullBlob GETs a blob through the node, follows the 307 to storage, and
// returns the digest and size of what came back.
func (n clusterNode) pullBlob(t *testing.T, token, repo string, d oci.Digest) (oci.Digest, int64, *url.URL) {
	t.Helper()
	r := n.do(t, http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), token, nil, nil)
	if r.Status != http.StatusTemporaryRedirect {
		t.Fatalf("%s: GET blob %s: %d %s", n.Name, d, r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(loc.String())
	if err != nil {
		t.Fatalf("%s: fetch %s: %v", n.Name, loc.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("%s: storage GET %s: %d %s", n.Name, loc.Host, resp.StatusCode, b)
	}
	h := oci.SHA256.New()
	size, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("%s: read blob %s: %v", n.Name, d, err)
	}
	return oci.FromHash(oci.SHA256, h), size, loc
}

// requirePull fails unless the image's manifest and every blob pull back
// through the node bit for bit.
func (n clusterNode) requirePull(t *testing.T, token, repo, tag string, manifest oci.Digest, blobs ...[]byte) {
	t.Helper()
	r := n.do(t, http.MethodGet, "/v2/"+repo+"/manifests/"+tag, token, nil,
		map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
	if r.Status != http.StatusOK || oci.FromBytes(oci.SHA256, r.Body) != manifest {
		t.Fatalf("%s: GET manifest %s:%s: %d, digest %s, want %s", n.Name, repo, tag, r.Status, oci.FromBytes(oci.SHA256, r.Body), manifest)
	}
	for _, b := range blobs {
		want := oci.FromBytes(oci.SHA256, b)
		got, size, _ := n.pullBlob(t, token, repo, want)
		if got != want || size != int64(len(b)) {
			t.Fatalf("%s: blob %s pulled back as %s (%d bytes, want %d)", n.Name, want, got, size, len(b))
		}
	}
}

func clusterAbs(t *testing.T, loc string) string {
	t.Helper()
	u, err := url.Parse(clusterBase)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u.ResolveReference(ref).String()
}

func clusterWithDigest(t *testing.T, loc string, d oci.Digest) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return u.String()
}

// clusterRangeEnd reads the Range header "0-N" of an upload answer: N, or
// -1 when the session holds nothing yet ("0-0" is one byte per the spec, so
// an empty session sends no Range or "0--1"; both read as -1).
func clusterRangeEnd(t *testing.T, what string, r regResponse) int64 {
	t.Helper()
	rg := r.Header.Get("Range")
	if rg == "" {
		return -1
	}
	start, end, ok := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
	if !ok || start != "0" {
		t.Fatalf("%s: Range %q", what, rg)
	}
	n, err := strconv.ParseInt(end, 10, 64)
	if err != nil {
		t.Fatalf("%s: Range %q: %v", what, rg, err)
	}
	return n
}

// clusterUser is a PDS account the test created, with an app password: its
// registry login and its PDS session (to write its sailor profile).
type clusterUser struct {
	regAccount
	pds holdUser
}

// clusterNewUser creates the account <name>.pds.test. The namespace has no
// DNS: a handle resolves only when the stack's /etc/hosts names it, so name
// is one of those the cluster shape adds (carol, dave, erin;
// test/stack/e2e-cluster.sh), and each can be created once per stack.
func clusterNewUser(t *testing.T, name string) clusterUser {
	t.Helper()
	ctx := testContext(t)
	handle := name + ".pds.test"
	password := "pw-" + hex.EncodeToString(holdRandom(t, 8))
	err := atclient.NewAPIClient(env(t, "ATCR_PDS_URL")).Post(ctx, syntax.NSID("com.atproto.server.createAccount"),
		map[string]any{"handle": handle, "email": name + "@example.com", "password": password}, nil)
	if err != nil {
		t.Fatalf("createAccount %s: %v (the cluster tests need a fresh stack: test/stack/e2e.sh cluster)", handle, err)
	}
	u := holdLogin(t, handle, password)
	var app struct {
		Password string `json:"password"`
	}
	if err := u.client.Post(ctx, syntax.NSID("com.atproto.server.createAppPassword"), map[string]any{"name": "cluster-e2e"}, &app); err != nil || app.Password == "" {
		t.Fatalf("createAppPassword for %s: %v", handle, err)
	}
	return clusterUser{regAccount: regAccount{Handle: handle, DID: u.DID.String(), Password: app.Password}, pds: u}
}

// setDefaultHold writes the user's sailor profile naming hold as the
// default hold for pushes.
func (u clusterUser) setDefaultHold(t *testing.T, hold string) {
	t.Helper()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	err := u.pds.client.Post(testContext(t), syntax.NSID("com.atproto.repo.putRecord"), map[string]any{
		"repo": u.DID, "collection": atcr.SailorProfileNSID, "rkey": "self",
		"record": map[string]any{"$type": atcr.SailorProfileNSID, "defaultHold": hold, "createdAt": now, "updatedAt": now},
	}, nil)
	if err != nil {
		t.Fatalf("putRecord %s for %s: %v", atcr.SailorProfileNSID, u.Handle, err)
	}
}

// joinCrew makes the user a crew member of hold (io.atcr.hold.requestCrew;
// the stack's holds let anyone join), which a push to it needs.
func (u clusterUser) joinCrew(t *testing.T, hold holdTarget) {
	t.Helper()
	var out atcr.HoldRequestCrew_Output
	hold.call(t, &u.pds, http.MethodPost, atcr.HoldRequestCrewNSID, nil, nil).decode(t, "requestCrew on "+hold.DID, &out)
	if out.Status != "created" && out.Status != "already_member" {
		t.Fatalf("%s: requestCrew on %s: %+v", u.Handle, hold.DID, out)
	}
}

// clusterUpstreamHits reads Caddy's reverse-proxy log and returns, per
// upstream (127.0.0.1:5000, :5001), the "METHOD URI" of every round trip
// whose URI contains needle.
func clusterUpstreamHits(t *testing.T, needle string) map[string][]string {
	t.Helper()
	f, err := os.Open(env(t, "ATCR_CADDY_UPSTREAM_LOG"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hits := map[string][]string{}
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		var entry struct {
			Msg      string `json:"msg"`
			Upstream string `json:"upstream"`
			Request  struct {
				Method string `json:"method"`
				URI    string `json:"uri"`
			} `json:"request"`
		}
		if json.Unmarshal(lines.Bytes(), &entry) != nil || entry.Msg != "upstream roundtrip" || !strings.Contains(entry.Request.URI, needle) {
			continue
		}
		hits[entry.Upstream] = append(hits[entry.Upstream], entry.Request.Method+" "+entry.Request.URI)
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	return hits
}

// requireServedBoth fails unless Caddy's log shows requests whose URI
// contains needle answered by both AppViews.
func requireServedBoth(t *testing.T, a, b clusterNode, needle string) map[string][]string {
	t.Helper()
	hits := clusterUpstreamHits(t, needle)
	if len(hits[a.Upstream]) == 0 || len(hits[b.Upstream]) == 0 {
		t.Fatalf("requests for %s did not reach both AppViews: %s %d, %s %d", needle,
			a.Name, len(hits[a.Upstream]), b.Name, len(hits[b.Upstream]))
	}
	return hits
}

// clusterPID returns the pid of a stack service (appview-a, appview-b) from
// the stack's pid file ("PID NAME NEEDLE" lines; the last live one wins).
func clusterPID(t *testing.T, name string) int {
	t.Helper()
	raw, err := os.ReadFile(env(t, "ATCR_STACK_PIDFILE"))
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != name {
			continue
		}
		p, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + f[0] + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(f[2])) {
			pid = p
		}
	}
	if pid == 0 {
		t.Fatalf("%s is not running (pid file %s)", name, env(t, "ATCR_STACK_PIDFILE"))
	}
	return pid
}

// clusterKill sends SIGKILL to a stack service and waits until it is gone.
func clusterKill(t *testing.T, name string) {
	t.Helper()
	pid := clusterPID(t, name)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s (pid %d): %v", name, pid, err)
	}
	for range 100 {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		// Gone, or a zombie its parent (e2e.sh) has not reaped yet.
		if err != nil || bytes.Contains(stat, []byte(") Z ")) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s (pid %d) still runs after SIGKILL", name, pid)
}

// clusterRestart starts a stack service again through the stack's own
// script (test/stack/e2e.sh restart NAME), which waits for its /health.
func clusterRestart(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command(env(t, "ATCR_STACK_SCRIPT"), "restart", name).CombinedOutput()
	if err != nil {
		t.Fatalf("e2e.sh restart %s: %v\n%s", name, err, out)
	}
}
