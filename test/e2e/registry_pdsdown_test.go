//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// TestRegistryPDSUnreachableDuringManifestPut cuts alice's PDS off from an
// AppView in the middle of manifest pushes and checks that the push fails
// with a 502 naming the PDS, and that no tag record is left pointing at
// nothing.
//
// The stack's PDS cannot be stopped under the other tests, so the test runs
// an AppView of its own (the real binary, its own port and data directory)
// that reaches alice's PDS through a gate it can close: a fake PLC directory
// serves alice's real DID document with the PDS endpoint moved to the gate,
// a TLS reverse proxy in front of https://pds.test that drops the
// connection of the XRPC methods it is told to block, as an unreachable
// host would. Blobs still go to the stack's hold, and the records land in
// alice's real repository, where the test reads them directly.
func TestRegistryPDSUnreachableDuringManifestPut(t *testing.T) {
	alice := regAlice(t)
	gate := newRegPDSGate(t, env(t, "ATCR_PDS_URL"))
	plc := newRegPLC(t, env(t, "ATCR_PLC_URL"), alice.DID, gate.srv.URL)
	base := startRegAppView(t, plc.URL)

	path := regRepo(alice, "errors/pdsdown")
	repoPath := strings.TrimPrefix(path, alice.Handle+"/")
	tok := regToken(t, base, alice, "repository:"+path+":pull,push")
	cfg := []byte(`{"architecture":"amd64","os":"linux","note":"` + path + `"}`)
	d := regPushBlob(t, base, tok, path, cfg)
	manifest := []byte(`{"schemaVersion":2,"mediaType":"` + oci.MediaTypeOCIManifest + `","config":{"mediaType":"` +
		oci.MediaTypeOCIConfig + `","digest":"` + d.String() + `","size":` + strconv.Itoa(len(cfg)) + `},"layers":[]}`)
	put := func(tag string) regResponse {
		return regDo(t, base, http.MethodPut, "/v2/"+path+"/manifests/"+tag, tok, manifest,
			map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	}
	records := func() (manifests, tags []regRecord) {
		return regRecordsOf(regRecords(t, alice.DID, atcr.ManifestNSID), repoPath),
			regRecordsOf(regRecords(t, alice.DID, atcr.TagNSID), repoPath)
	}
	requirePDSFailure := func(what string, r regResponse) {
		t.Helper()
		r.requireError(t, what, http.StatusBadGateway, "UNKNOWN")
		_, msg := r.errorCode()
		if !strings.Contains(msg, "PDS") || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "xrpc") {
			t.Fatalf("%s: message %q should name the PDS and nothing internal", what, msg)
		}
	}

	// The manifest record cannot be written: nothing is recorded.
	gate.block("com.atproto.repo.createRecord")
	requirePDSFailure("createRecord unreachable", put("v1"))
	if m, tags := records(); len(m) != 0 || len(tags) != 0 {
		t.Fatalf("after a failed createRecord: %d manifest and %d tag records", len(m), len(tags))
	}

	// The tag cannot be written: the manifest record exists, untagged, and
	// the tag does not resolve.
	gate.block("com.atproto.repo.putRecord")
	requirePDSFailure("putRecord unreachable", put("v1"))
	m, tags := records()
	if len(m) != 1 || len(tags) != 0 {
		t.Fatalf("after a failed putRecord: %d manifest and %d tag records, want 1 and 0", len(m), len(tags))
	}
	regDo(t, base, http.MethodGet, "/v2/"+path+"/manifests/v1", tok, nil, nil).
		requireError(t, "tag after a failed putRecord", http.StatusNotFound, "MANIFEST_UNKNOWN")

	// The whole PDS is unreachable.
	gate.block("*")
	requirePDSFailure("PDS unreachable", put("v2"))

	// Back again: the push succeeds, reuses the manifest record, and the
	// stack's own AppView serves it from the records alone.
	gate.block()
	if r := put("v1"); r.Status != http.StatusCreated {
		t.Fatalf("push after the PDS came back: %d %s", r.Status, r.Body)
	}
	m, tags = records()
	if len(m) != 1 || len(tags) != 1 || tags[0].Value["manifest"] != m[0].URI {
		t.Fatalf("records after the retry: %d manifests, tags %+v", len(m), tags)
	}
	stack := env(t, "ATCR_APPVIEW_URL")
	r := regDo(t, stack, http.MethodGet, "/v2/"+path+"/manifests/v1", regToken(t, stack, alice, "repository:"+path+":pull"), nil, nil)
	if r.Status != http.StatusOK || string(r.Body) != string(manifest) {
		t.Fatalf("GET through the stack's AppView: %d %s", r.Status, r.Body)
	}
}

// regPDSGate is a TLS reverse proxy to a PDS that drops the connections of
// blocked XRPC methods ("*" blocks all).
type regPDSGate struct {
	srv     *httptest.Server
	mu      sync.Mutex
	blocked map[string]bool
}

func newRegPDSGate(t *testing.T, pds string) *regPDSGate {
	t.Helper()
	target, err := url.Parse(pds)
	if err != nil {
		t.Fatal(err)
	}
	g := &regPDSGate{blocked: map[string]bool{}}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = target.Host
	}}
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nsid := strings.TrimPrefix(r.URL.Path, "/xrpc/")
		g.mu.Lock()
		cut := g.blocked["*"] || g.blocked[nsid]
		g.mu.Unlock()
		if !cut {
			proxy.ServeHTTP(w, r)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // as if the host went away mid-request
		}
	}))
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	return g
}

// block replaces the blocked methods; none unblocks everything.
func (g *regPDSGate) block(nsids ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.blocked = map[string]bool{}
	for _, n := range nsids {
		g.blocked[n] = true
	}
}

// newRegPLC is a TLS PLC directory serving the stack's documents, with
// did's #atproto_pds endpoint replaced by pds.
func newRegPLC(t *testing.T, upstream, did, pds string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(upstream + r.URL.EscapedPath())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, regMaxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if r.URL.Path == "/"+did && resp.StatusCode == http.StatusOK {
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			services, _ := doc["service"].([]any)
			for _, s := range services {
				if svc, ok := s.(map[string]any); ok && strings.HasSuffix(fmt.Sprint(svc["id"]), "#atproto_pds") {
					svc["serviceEndpoint"] = pds
				}
			}
			body, _ = json.Marshal(doc)
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// startRegAppView runs the AppView binary (STACK_APPVIEW_BIN, else
// atcr-appview from PATH) on a free loopback port with its own data
// directory, behind a TLS proxy of the test, resolving DIDs through plc. It
// trusts the stack's bundle plus httptest's certificate (the one every
// httptest TLS server here serves: the gate's and the fake PLC's). It
// returns the base URL (regDo and regToken reach it with the proxy's
// client) and stops the AppView when the test ends.
func startRegAppView(t *testing.T, plc string) string {
	t.Helper()
	bin := os.Getenv("STACK_APPVIEW_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("atcr-appview"); err != nil {
			t.Fatal("atcr-appview is not on PATH (bin/): run make build")
		}
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// TLS in front, as Caddy does for the stack's AppView (its OAuth set-up
	// wants an https origin).
	upstream := &url.URL{Scheme: "http", Host: addr}
	front := httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(upstream)
		r.SetXForwarded()
	}})
	front.StartTLS()
	t.Cleanup(front.Close)
	base := front.URL
	client := front.Client()
	client.Timeout = 2 * time.Minute
	client.CheckRedirect = regHTTP.CheckRedirect
	regClients.Store(base, client)

	bundle, err := os.ReadFile(env(t, "ATCR_CA_BUNDLE"))
	if err != nil {
		t.Fatal(err)
	}
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})...)
	bundlePath := filepath.Join(dir, "ca-bundle.pem")
	config := fmt.Sprintf(`log:
  level: debug
server:
  addr: %s
  base_url: %s
  data_dir: %s
  default_hold_did: "did:web:hold.test"
  shutdown_timeout: 2s
identity:
  plc_url: %s
  allow_private_networks: true
`, addr, base, filepath.Join(dir, "data"), plc)
	configPath := filepath.Join(dir, "appview.yaml")
	for p, b := range map[string][]byte{bundlePath: bundle, configPath: []byte(config)} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "appview.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", configPath)
	// The stack's ATCR_* variables would override the config (ATCR_PLC_URL
	// is also the AppView's identity.plc_url).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATCR_") && !strings.HasPrefix(kv, "SSL_CERT_FILE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+bundlePath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Error("the test AppView ignored SIGTERM for 10 s")
		}
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("test AppView log (last 4 KiB):\n%s", out[max(0, len(out)-4096):])
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("the test AppView exited: %v\n%s", waitErr, out)
		case <-ctx.Done():
			t.Fatal("the test AppView did not answer /health within 30 s")
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := client.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
	}
}
