//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// faultAppView is an AppView of the test's own: the real binary on a free
// loopback port with its own data directory, behind a TLS front of the
// test's (as Caddy fronts the stack's; its OAuth set-up wants an https
// origin). The front outlives restarts, so a client sees the restart as
// Caddy would show it: 502 while the process is gone.
type faultAppView struct {
	Base   string
	Client *http.Client
	proc   *faultProcess
}

// faultAppViewConfig is what differs between the tests' AppViews.
type faultAppViewConfig struct {
	Dir         string // data, config and log
	Bundle      string // trust bundle (faultTrustBundle)
	PLC         string // identity.plc_url
	DefaultHold string // server.default_hold_did
}

func startFaultAppView(t *testing.T, c faultAppViewConfig) *faultAppView {
	t.Helper()
	addr := faultFreeAddr(t)
	upstream := &url.URL{Scheme: "http", Host: addr}
	front := httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(upstream)
		r.SetXForwarded()
	}})
	front.StartTLS()
	t.Cleanup(front.Close)
	client := front.Client()
	client.Timeout = 2 * time.Minute
	client.CheckRedirect = regHTTP.CheckRedirect
	regClients.Store(front.URL, client)

	config := fmt.Sprintf(`log:
  level: debug
server:
  addr: %s
  base_url: %s
  data_dir: %s
  default_hold_did: %q
  shutdown_timeout: 2s
auth:
  token_ttl: 30m
identity:
  plc_url: %s
  allow_private_networks: true
`, addr, front.URL, filepath.Join(c.Dir, "data"), c.DefaultHold, c.PLC)
	configPath := filepath.Join(c.Dir, "appview.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &faultAppView{Base: front.URL, Client: client}
	a.proc = newFaultProcess(t, "appview", faultBinary(t, "STACK_APPVIEW_BIN", "atcr-appview"),
		configPath, c.Bundle, front.URL+"/health", client)
	a.proc.start(t)
	return a
}

// restart stops the AppView (SIGTERM: it aborts its open upload sessions)
// and starts it again on the same data: same signing key, so tokens stay
// valid; empty memory, so caches and upload sessions are gone.
func (a *faultAppView) restart(t *testing.T) { a.proc.restart(t) }

// faultHold is a hold of the test's own at https://fault-hold.test, the
// name the stack's Caddy sends to 127.0.0.1:8090 (ATCR_FAULT_HOLD_GATE),
// where the test's hold gate listens. Its blobs live on an S3 server
// outside the hold, so S3 can fail while the hold runs: the embedded S3 of
// a second hold process (store), reached through the S3 gate, the
// endpoint of the hold's storage config and of its presigned URLs.
//
//	AppView ─► Caddy (fault-hold.test) ─► Gate ─► hold ─► S3 ─► store's embedded S3
//	AppView (part PUT), client (blob GET) ────────────────► S3
type faultHold struct {
	DID, URL string
	Gate     *faultGate
	S3       *faultGate
	DataDir  string // server.data_dir
	proc     *faultProcess
	store    *faultProcess
	storeS3  s3.CredentialsFile // the store's embedded S3, direct
	bucket   string
}

// faultHoldConfig is what the hold needs from the test's world.
type faultHoldConfig struct {
	Dir    string
	Bundle string
	Owner  string // registration.owner_did
	PLC    string // identity.plc_url
	// Scanner is the config's scanner section (YAML, "scanner:" and its
	// indented keys); empty leaves the defaults.
	Scanner string
	// VulnDB is a vulnerability database archive imported into the hold's
	// scanner.db_dir (atcr-hold scanner db import) before it first starts;
	// empty leaves the hold without one.
	VulnDB string
}

func startFaultHold(t *testing.T, c faultHoldConfig) *faultHold {
	t.Helper()
	h := &faultHold{DID: env(t, "ATCR_FAULT_HOLD_DID"), URL: env(t, "ATCR_FAULT_HOLD_URL"), bucket: "faults"}
	plain := &http.Client{Timeout: 10 * time.Second}

	// The store: a hold used only for its embedded S3 server.
	storeDir := filepath.Join(c.Dir, "store")
	storeAddr := faultFreeAddr(t)
	storeConfig := fmt.Sprintf(`log:
  level: info
server:
  addr: %s
  public_url: https://fault-store.test
  data_dir: %s
storage:
  embedded_addr: %s
registration:
  owner_did: %q
  register_with_owner: false
identity:
  plc_url: %s
`, storeAddr, storeDir, faultFreeAddr(t), c.Owner, env(t, "ATCR_PLC_URL"))
	h.store = newFaultProcess(t, "s3-store", faultBinary(t, "STACK_HOLD_BIN", "atcr-hold"),
		faultWriteConfig(t, c.Dir, "store.yaml", storeConfig), c.Bundle, "http://"+storeAddr+"/xrpc/_health", plain)
	h.store.start(t)
	creds, err := s3.ReadCredentialsFile(filepath.Join(storeDir, "embedded-s3", "s3-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	h.storeS3 = creds
	h.S3 = newFaultGate(t, "s3", "", true, faultProxy(t, creds.Endpoint, true))

	holdAddr := faultFreeAddr(t)
	h.DataDir = filepath.Join(c.Dir, "hold")
	holdConfig := fmt.Sprintf(`log:
  level: debug
server:
  addr: %s
  public_url: %s
  public: true
  data_dir: %s
  shutdown_timeout: 5s
storage:
  endpoint: %s
  access_key: %q
  secret_key: %q
  region: %q
  bucket: %s
  path_style: true
registration:
  owner_did: %q
  allow_all_crew: true
  # Registering with the owner's PDS resolves the owner (the test's user)
  # at start; the PLC tests need a restarted hold that has not.
  register_with_owner: false
identity:
  plc_url: %s
  allow_private_networks: true
%s`, holdAddr, h.URL, h.DataDir, h.S3.URL(), creds.AccessKeyID, creds.SecretAccessKey,
		creds.Region, h.bucket, c.Owner, c.PLC, c.Scanner)
	h.Gate = newFaultGate(t, "hold", env(t, "ATCR_FAULT_HOLD_GATE"), false, faultProxy(t, "http://"+holdAddr, true))
	holdBin := faultBinary(t, "STACK_HOLD_BIN", "atcr-hold")
	configPath := faultWriteConfig(t, c.Dir, "hold.yaml", holdConfig)
	if c.VulnDB != "" {
		cmd := exec.Command(holdBin, "scanner", "db", "import", c.VulnDB, "--config", configPath)
		cmd.Env = faultEnviron(c.Bundle)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("atcr-hold scanner db import %s: %v\n%s", c.VulnDB, err, out)
		}
	}
	h.proc = newFaultProcess(t, "hold", holdBin, configPath, c.Bundle, h.URL+"/xrpc/_health", holdHTTP)
	h.proc.start(t)
	return h
}

// restart stops the hold (SIGTERM) and starts it again on the same data.
func (h *faultHold) restart(t *testing.T) { h.proc.restart(t) }

// faultProxy forwards to target. keepHost forwards the caller's Host
// header, as Caddy does for the hold and as S3 needs for its signatures
// (a presigned URL is signed for the host the client sent it to).
func faultProxy(t *testing.T, target string, keepHost bool) http.Handler {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		if keepHost {
			r.Out.Host = r.In.Host
		}
	}}
}

func faultWriteConfig(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// faultPLC serves the stack's PLC directory with did's #atproto_pds
// endpoint replaced by pds, so every server that resolves did through it
// reaches the user's PDS where a test can cut it off.
func faultPLC(upstream, did, pds string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	})
}

// faultHoldHTTP reaches the hold as the AppView does, through Caddy, and
// never follows a redirect.
var faultHoldHTTP = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// getBlob asks the hold itself for blob d (GET getBlob, anonymously: the
// hold is public), waiting at most faultBound.
func (h *faultHold) getBlob(d oci.Digest) *faultAnswer {
	q := url.Values{"did": {h.DID}, "cid": {d.String()}}
	return faultDo(faultHoldHTTP, "hold getBlob", http.MethodGet, h.URL+"/xrpc/com.atproto.sync.getBlob?"+q.Encode(), "", nil, nil)
}

// openUploads counts the multipart uploads open in the hold's bucket,
// asking the S3 server directly.
func (h *faultHold) openUploads(t *testing.T) int {
	t.Helper()
	client := awss3.New(awss3.Options{
		Region:       h.storeS3.Region,
		BaseEndpoint: aws.String(h.storeS3.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(h.storeS3.AccessKeyID, h.storeS3.SecretAccessKey, ""),
	})
	out, err := client.ListMultipartUploads(testContext(t), &awss3.ListMultipartUploadsInput{Bucket: aws.String(h.bucket)})
	if err != nil {
		t.Fatalf("list multipart uploads of %s: %v", h.bucket, err)
	}
	return len(out.Uploads)
}

// initiate asks the hold itself to start an upload (initiateUpload) with
// a service token of the test's, waiting at most faultBound.
func (h *faultHold) initiate(token string) *faultAnswer {
	return faultDo(faultHoldHTTP, "hold initiateUpload", http.MethodPost, h.URL+"/xrpc/"+atcr.HoldInitiateUploadNSID, token,
		[]byte(`{}`), map[string]string{"Content-Type": "application/json"})
}
