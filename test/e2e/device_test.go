//go:build e2e

package e2e

import (
	"atcr.io/internal/syncbuf"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The device flow end to end, driven by the real credential helper:
// `docker-credential-atcr login` asks for a code, alice approves it in the
// browser (logged in through OAuth), the helper stores its device secret,
// and crane — routed to the helper by credHelpers — pushes and pulls an
// image. The push writes alice's records through her OAuth session and
// mints the hold's service tokens through it (she never gave the AppView an
// app password). Revoking the device in /settings makes the next push fail
// with 401.
func TestDeviceFlowPushPullRevoke(t *testing.T) {
	alice := accounts(t)[0]
	registry := env(t, "ATCR_REGISTRY")
	h := newHelperEnv(t)

	b := newBrowser(t)
	b.logIn(alice.Handle, alice.Password)

	login := h.startLogin(t, registry)
	b.step("open the verification URL", chromedp.Navigate(login.url), chromedp.WaitVisible(chromedp.CSS("#approve")))
	if got := b.text("#user-code"); got != login.code {
		t.Fatalf("the approval page shows code %q, the helper printed %q", got, login.code)
	}
	if got := b.text("#client-name"); !strings.HasPrefix(got, "docker-credential-atcr on ") {
		t.Errorf("device name on the approval page = %q", got)
	}
	b.step("approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#message-title")))
	if got := b.text("#message-title"); got != "Device approved" {
		t.Fatalf("after approving: %q", got)
	}
	login.wait(t)
	account := h.storedAccount(t, alice.DID)

	// Push and pull through the helper.
	ref := fmt.Sprintf("%s/%s/e2e-device:%d", registry, alice.Handle, time.Now().UnixNano())
	payload := fmt.Sprintf("pushed by the device flow test at %s\n", time.Now().UTC().Format(time.RFC3339Nano))
	layer := h.layerTar(t, "hello.txt", payload)
	if out, err := h.crane("append", "-f", layer, "-t", ref); err != nil {
		t.Fatalf("crane append (push) through the helper: %v\n%s", err, out)
	}
	digest, err := h.crane("digest", ref)
	if err != nil {
		t.Fatalf("crane digest: %v\n%s", err, digest)
	}
	digest = strings.TrimSpace(digest)
	exported, err := h.crane("export", ref, "-")
	if err != nil || !strings.Contains(exported, payload) {
		t.Fatalf("crane export (pull) did not return the pushed file: %v\n%.500s", err, exported)
	}
	// The writes happened in alice's own repository.
	manifests := listRecords(t, alice.DID, "io.atcr.manifest")
	if !containsField(manifests, "digest", digest) {
		t.Errorf("no io.atcr.manifest record with digest %s in alice's repo (%d records)", digest, len(manifests))
	}
	tag := ref[strings.LastIndexByte(ref, ':')+1:]
	if tags := listRecords(t, alice.DID, "io.atcr.tag"); !containsField(tags, "tag", tag) {
		t.Errorf("no io.atcr.tag record for tag %s in alice's repo", tag)
	}

	// Revoke the device in the browser; the secret stops working at once.
	b.step("settings", chromedp.Navigate(env(t, "ATCR_APPVIEW_URL")+"/settings"),
		chromedp.WaitVisible(chromedp.CSS(`button[data-device="`+account.DeviceID+`"]`)))
	b.step("revoke", chromedp.Click(chromedp.CSS(`button[data-device="`+account.DeviceID+`"]`)))
	b.waitText("#devices", "Revoked")
	out, err := h.crane("append", "-f", layer, "-t", ref+"-after-revoke")
	if err == nil {
		t.Fatalf("push with a revoked device secret succeeded:\n%s", out)
	}
	if !strings.Contains(out, "401") && !strings.Contains(out, "UNAUTHORIZED") {
		t.Errorf("push after revoke failed, but not with 401:\n%s", out)
	}
	code, _ := tokenStatus(t, alice.Handle, account.Secret)
	if code != http.StatusUnauthorized {
		t.Errorf("/auth/token with the revoked secret: %d, want 401", code)
	}
}

// helperEnv is a private HOME, DOCKER_CONFIG and credentials file in which
// the helper and crane run; config.json routes the registry to the helper.
type helperEnv struct {
	dir     string
	environ []string
}

func newHelperEnv(t *testing.T) *helperEnv {
	t.Helper()
	for _, bin := range []string{"docker-credential-atcr", "crane"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not on PATH (bin/ and bin/tools/): run make build and test/stack/install.sh", bin)
		}
	}
	dir := t.TempDir()
	dockerDir := filepath.Join(dir, "docker")
	if err := os.MkdirAll(dockerDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`{"credHelpers": {%q: "atcr"}}`, env(t, "ATCR_REGISTRY"))
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := append(os.Environ(), "HOME="+dir, "DOCKER_CONFIG="+dockerDir,
		"ATCR_CREDENTIALS_FILE="+filepath.Join(dir, "credentials.json"))
	return &helperEnv{dir: dir, environ: environ}
}

// helperLogin is a running `docker-credential-atcr login`.
type helperLogin struct {
	cmd       *exec.Cmd
	cancel    context.CancelFunc
	done      chan struct{} // closed when stdout is drained
	url, code string
	out       *syncbuf.Buffer
}

var codeLine = regexp.MustCompile(`\b([B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4})\b`)

// startLogin runs the helper's login and returns once it printed the
// verification URL and the code.
func (h *helperEnv) startLogin(t *testing.T, registry string) *helperLogin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, "docker-credential-atcr", "login", "--no-browser", registry)
	cmd.Env = h.environ
	out := &syncbuf.Buffer{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start docker-credential-atcr login: %v", err)
	}
	l := &helperLogin{cmd: cmd, cancel: cancel, done: make(chan struct{}), out: out}
	t.Cleanup(cancel)
	verify := env(t, "ATCR_APPVIEW_URL") + "/device"
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		fmt.Fprintln(out, line)
		if u := strings.TrimSpace(line); strings.HasPrefix(u, verify) {
			l.url = u
		}
		if m := codeLine.FindStringSubmatch(line); m != nil && l.url != "" {
			l.code = m[1]
			break
		}
	}
	go func() {
		defer close(l.done)
		for lines.Scan() {
			fmt.Fprintln(out, lines.Text())
		}
	}()
	if l.url == "" || l.code == "" {
		t.Fatalf("the helper printed no verification URL and code:\n%s", out)
	}
	return l
}

// wait waits for the helper to store its secret and exit.
func (l *helperLogin) wait(t *testing.T) {
	t.Helper()
	<-l.done
	err := l.cmd.Wait()
	l.cancel()
	if err != nil {
		t.Fatalf("docker-credential-atcr login: %v\n%s", err, l.out)
	}
	if !strings.Contains(l.out.String(), "Logged in to") {
		t.Errorf("the helper did not report the login:\n%s", l.out)
	}
}

// storedAccount reads the device account the helper saved.
type storedAccount struct {
	Handle, DID, Secret, DeviceID string
}

func (h *helperEnv) storedAccount(t *testing.T, did string) storedAccount {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(h.dir, "credentials.json"))
	if err != nil {
		t.Fatalf("the helper stored no credentials: %v", err)
	}
	// Walk the JSON for the account object of did instead of depending on
	// the file's exact layout.
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var found *storedAccount
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["did"] == did {
				a := storedAccount{DID: did}
				a.Handle, _ = x["handle"].(string)
				a.Secret, _ = x["secret"].(string)
				a.DeviceID, _ = x["device_id"].(string)
				found = &a
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if found == nil || !strings.HasPrefix(found.Secret, "atcr_dev_") || found.DeviceID == "" {
		t.Fatalf("no device account for %s in the credentials file:\n%s", did, redact(string(raw)))
	}
	return *found
}

func redact(s string) string {
	return regexp.MustCompile(`atcr_dev_[A-Za-z0-9_-]+`).ReplaceAllString(s, "atcr_dev_…")
}

// crane runs bin/tools/crane in the helper environment; it returns stdout
// and stderr together.
func (h *helperEnv) crane(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "crane", args...)
	cmd.Env = h.environ
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// layerTar writes a one-file layer tarball.
func (h *helperEnv) layerTar(t *testing.T, name, content string) string {
	t.Helper()
	src := filepath.Join(h.dir, "layer")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(h.dir, "layer.tar")
	if out, err := exec.Command("tar", "-C", src, "-cf", tarPath, name).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return tarPath
}

// listRecords reads a collection of did's repository from the PDS (public).
func listRecords(t *testing.T, did, collection string) []map[string]any {
	t.Helper()
	q := url.Values{"repo": {did}, "collection": {collection}, "limit": {"100"}}
	resp, err := http.Get(env(t, "ATCR_PDS_URL") + "/xrpc/com.atproto.repo.listRecords?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Records []struct {
			Value map[string]any `json:"value"`
		} `json:"records"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("listRecords %s: HTTP %d", collection, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	values := make([]map[string]any, 0, len(out.Records))
	for _, r := range out.Records {
		values = append(values, r.Value)
	}
	return values
}

func containsField(records []map[string]any, field, want string) bool {
	for _, r := range records {
		if r[field] == want {
			return true
		}
	}
	return false
}

// tokenStatus asks /auth/token with HTTP Basic credentials, as Docker does.
func tokenStatus(t *testing.T, user, secret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env(t, "ATCR_APPVIEW_URL")+"/auth/token?service="+env(t, "ATCR_REGISTRY"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}
