//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/oci"
)

// The registry tests (registry_*_test.go) speak to the AppView as clients
// do: raw HTTP with tokens from /auth/token, or the real crane, oras and
// regctl binaries. Their helpers carry a reg prefix.

// regMaxBody bounds what the helpers read of a registry answer.
const regMaxBody = 8 << 20

// regHTTP never follows redirects: a blob GET's 307 is an answer to check.
var regHTTP = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// regClients holds the clients of servers a test started behind its own
// TLS certificate (base URL → client); everything else uses regHTTP.
var regClients sync.Map

func regClient(base string) *http.Client {
	if c, ok := regClients.Load(base); ok {
		return c.(*http.Client)
	}
	return regHTTP
}

// regAccount is a stack account's registry login: handle and app password.
type regAccount struct {
	Handle, DID, Password string
}

func regAlice(t *testing.T) regAccount {
	return regAccount{env(t, "ATCR_USERNAME"), env(t, "ATCR_DID"), env(t, "ATCR_PASSWORD")}
}

func regBob(t *testing.T) regAccount {
	return regAccount{env(t, "ATCR_USERNAME2"), env(t, "ATCR_DID2"), env(t, "ATCR_PASSWORD2")}
}

// regRepo names a fresh repository of acct for one test: a unique path so
// reruns against the same stack never see each other's content.
func regRepo(acct regAccount, path string) string {
	return acct.Handle + "/" + path + "-" + strings.ReplaceAll(time.Now().UTC().Format("150405.000000"), ".", "")
}

// regResponse is a registry answer, body read.
type regResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorCode returns the code and message of an OCI error body's first entry.
func (r regResponse) errorCode() (code, message string) {
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(r.Body, &body) != nil || len(body.Errors) == 0 {
		return "", ""
	}
	return body.Errors[0].Code, body.Errors[0].Message
}

// requireError fails unless r is an OCI error with status and code.
func (r regResponse) requireError(t *testing.T, what string, status int, code string) {
	t.Helper()
	got, msg := r.errorCode()
	if r.Status != status || got != code {
		t.Fatalf("%s: %d %s (%s), want %d %s; body %.300s", what, r.Status, got, msg, status, code, r.Body)
	}
}

// regDo sends one request to base+path (path is sent as written: no
// cleaning, no escaping) with an optional bearer token.
func regDo(t *testing.T, base, method, path, token string, body []byte, hdr map[string]string) regResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = "//" + req.URL.Host + path // keep ".." and %-escapes exactly as given
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := regClient(base).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, regMaxBody))
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return regResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// regTokenStatus asks base's /auth/token for scopes with HTTP Basic
// credentials, as Docker does, and returns the status and the token.
func regTokenStatus(t *testing.T, base, user, password string, scopes ...string) (int, string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"service": {u.Host}, "scope": scopes}
	req, err := http.NewRequest(http.MethodGet, base+"/auth/token?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := regClient(base).Do(req)
	if err != nil {
		t.Fatalf("/auth/token: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, regMaxBody)).Decode(&out)
	return resp.StatusCode, out.Token
}

// regToken returns a token for scopes, failing unless /auth/token issues one.
func regToken(t *testing.T, base string, acct regAccount, scopes ...string) string {
	t.Helper()
	status, tok := regTokenStatus(t, base, acct.Handle, acct.Password, scopes...)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("/auth/token as %s for %v: %d", acct.Handle, scopes, status)
	}
	return tok
}

// regPushBlob uploads data monolithically (POST ?digest=) into repo.
func regPushBlob(t *testing.T, base, token, repo string, data []byte) oci.Digest {
	t.Helper()
	d := oci.FromBytes(oci.SHA256, data)
	r := regDo(t, base, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), token, data,
		map[string]string{"Content-Type": "application/octet-stream"})
	if r.Status != http.StatusCreated {
		t.Fatalf("push blob %s: %d %s", d, r.Status, r.Body)
	}
	return d
}

// regRecord is one record of a PDS listing.
type regRecord struct {
	URI   string         `json:"uri"`
	Value map[string]any `json:"value"`
}

// regRecords lists a collection of did's repository on the stack's PDS
// (public, no credentials), at most 100 records, newest first.
func regRecords(t *testing.T, did, collection string) []regRecord {
	t.Helper()
	q := url.Values{"repo": {did}, "collection": {collection}, "limit": {"100"}}
	r := regDo(t, env(t, "ATCR_PDS_URL"), http.MethodGet, "/xrpc/com.atproto.repo.listRecords?"+q.Encode(), "", nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("listRecords %s %s: %d %s", did, collection, r.Status, r.Body)
	}
	var out struct {
		Records []regRecord `json:"records"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("listRecords %s: %v", collection, err)
	}
	return out.Records
}

// regRecordsOf keeps the records whose repository field is repoPath.
func regRecordsOf(records []regRecord, repoPath string) []regRecord {
	var out []regRecord
	for _, r := range records {
		if r.Value["repository"] == repoPath {
			out = append(out, r)
		}
	}
	return out
}

// regTools runs crane, oras and regctl with a private HOME and
// DOCKER_CONFIG, so logins never touch the machine's own files. The trust
// bundle comes from SSL_CERT_FILE, which e2e.sh sets for everything inside.
type regTools struct {
	dir     string
	environ []string
}

func newRegTools(t *testing.T) *regTools {
	t.Helper()
	for _, bin := range []string{"crane", "oras", "regctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not on PATH (bin/tools/): run test/stack/install.sh", bin)
		}
	}
	dir := t.TempDir()
	docker := filepath.Join(dir, "docker")
	if err := os.MkdirAll(docker, 0o700); err != nil {
		t.Fatal(err)
	}
	environ := append(os.Environ(), "HOME="+dir, "DOCKER_CONFIG="+docker,
		"REGCTL_CONFIG="+filepath.Join(dir, "regctl.json"))
	return &regTools{dir: dir, environ: environ}
}

// login signs every tool in to the registry as acct.
func (rt *regTools) login(t *testing.T, registry string, acct regAccount) {
	t.Helper()
	rt.run(t, "crane", "auth", "login", registry, "-u", acct.Handle, "-p", acct.Password)
	rt.runStdin(t, acct.Password, "oras", "login", registry, "-u", acct.Handle, "--password-stdin")
	rt.runStdin(t, acct.Password, "regctl", "registry", "login", registry, "-u", acct.Handle, "--pass-stdin")
}

// run runs a tool and returns its stdout, failing the test on error.
func (rt *regTools) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	return rt.runStdin(t, "", name, args...)
}

func (rt *regTools) runStdin(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	out, errOut, err := rt.exec(stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// exec runs a tool and returns stdout, stderr and its error.
func (rt *regTools) exec(stdin, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = rt.environ
	cmd.Dir = rt.dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
