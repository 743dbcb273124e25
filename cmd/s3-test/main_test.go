package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/s3/embedded"
)

var (
	binary  string           // the s3-test binary built for these tests
	server  *embedded.Server // the embedded S3 server every test probes
	dataDir string
)

// TestMain builds the command, then starts the embedded S3 server. The order
// matters: the server's posix backend changes the working directory.
func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "s3-test-cmd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binary = filepath.Join(tmp, "s3-test")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	dataDir = filepath.Join(tmp, "data")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if server, err = embedded.Start(ctx, embedded.Options{DataDir: dataDir, Bucket: "probe-bucket"}); err != nil {
		fmt.Fprintln(os.Stderr, "embedded s3:", err)
		return 1
	}
	defer server.Stop(context.Background())
	return m.Run()
}

// runBinary runs the built command with a clean environment (no AWS
// settings leak in from the machine) plus env.
func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string, rc int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		rc = exitErr.ExitCode()
	default:
		t.Fatalf("run %s: %v", binary, err)
	}
	return out.String(), errOut.String(), rc
}

var allChecks = []string{"connectivity", "bucket-access", "put-object", "get-object", "presigned-get", "pull-zone-get", "presigned-put", "delete-object"}

func serverFlags() []string {
	p := server.Params()
	return []string{"--endpoint", p.Endpoint, "--bucket", p.Bucket, "--access-key", p.AccessKey, "--secret-key", p.SecretKey}
}

// pullZone is a reverse proxy that forwards the origin's Host header, as a
// CDN pull zone does.
func pullZone(t *testing.T) string {
	origin, _ := url.Parse(server.Endpoint())
	zone := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(origin)
		pr.Out.Host = origin.Host
	}})
	t.Cleanup(zone.Close)
	return zone.URL
}

func TestAllChecksPassAgainstEmbeddedServer(t *testing.T) {
	stdout, stderr, rc := runBinary(t, nil, append(serverFlags(), "--pull-zone", pullZone(t))...)
	if rc != 0 {
		t.Fatalf("rc = %d, want 0\nstdout:\n%s\nstderr:\n%s", rc, stdout, stderr)
	}
	for _, sdk := range []string{"sdk-v1", "sdk-v2"} {
		for _, c := range allChecks {
			if line := "PASS " + sdk + " " + c + "\n"; !strings.Contains(stdout, line) {
				t.Errorf("missing %q in output:\n%s", strings.TrimSpace(line), stdout)
			}
		}
	}
	if strings.Contains(stdout, "FAIL") {
		t.Errorf("unexpected FAIL:\n%s", stdout)
	}
	if n := strings.Count(stdout, "\n"); n != 2*len(allChecks) {
		t.Errorf("%d output lines, want one per check (%d)", n, 2*len(allChecks))
	}
}

func TestWrongSecretFails(t *testing.T) {
	p := server.Params()
	stdout, _, rc := runBinary(t, nil, "--endpoint", p.Endpoint, "--bucket", p.Bucket,
		"--access-key", p.AccessKey, "--secret-key", "wrong-"+p.SecretKey)
	if rc == 0 {
		t.Fatalf("rc = 0 with a wrong secret; output:\n%s", stdout)
	}
	for _, want := range []string{
		"PASS sdk-v1 connectivity", "PASS sdk-v2 connectivity", // the endpoint answers...
		"FAIL sdk-v1 bucket-access: ", "FAIL sdk-v2 bucket-access: ", // ...but refuses the signature
		"FAIL sdk-v2 put-object: not run: bucket-access failed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in output:\n%s", want, stdout)
		}
	}
}

func TestUnreachableEndpointFailsConnectivity(t *testing.T) {
	dead := httptest.NewServer(nil)
	dead.Close()
	stdout, _, rc := runBinary(t, nil, "--endpoint", dead.URL, "--bucket", "b-1", "--access-key", "a", "--secret-key", "s", "--timeout", "20s")
	if rc != 1 || !strings.Contains(stdout, "FAIL sdk-v1 connectivity: ") || !strings.Contains(stdout, "FAIL sdk-v2 connectivity: ") {
		t.Errorf("rc = %d, output:\n%s", rc, stdout)
	}
}

func TestCredentialsFileAndEnvironment(t *testing.T) {
	credFile := filepath.Join(dataDir, embedded.CredentialsFileName)
	if stdout, stderr, rc := runBinary(t, nil, "--credentials-file", credFile); rc != 0 {
		t.Errorf("--credentials-file: rc = %d\n%s\n%s", rc, stdout, stderr)
	}
	p := server.Params()
	env := []string{"S3_ENDPOINT=" + p.Endpoint, "S3_BUCKET=" + p.Bucket, "AWS_ACCESS_KEY_ID=" + p.AccessKey, "AWS_SECRET_ACCESS_KEY=" + p.SecretKey}
	if stdout, stderr, rc := runBinary(t, env); rc != 0 {
		t.Errorf("environment only: rc = %d\n%s\n%s", rc, stdout, stderr)
	}
	// An explicit flag beats the credentials file.
	if stdout, _, rc := runBinary(t, nil, "--credentials-file", credFile, "--secret-key", "overridden"); rc == 0 {
		t.Errorf("--secret-key did not override the credentials file:\n%s", stdout)
	}
}

func TestVerbosePrintsSigningDebug(t *testing.T) {
	stdout, stderr, rc := runBinary(t, nil, append(serverFlags(), "--verbose")...)
	if rc != 0 {
		t.Fatalf("rc = %d\n%s\n%s", rc, stdout, stderr)
	}
	for _, sdk := range []string{"[sdk-v1]", "[sdk-v2"} {
		var canonical, toSign bool
		for _, block := range strings.Split(stderr, sdk)[1:] {
			canonical = canonical || strings.Contains(block, "CANONICAL STRING")
			toSign = toSign || strings.Contains(block, "STRING TO SIGN")
		}
		if !canonical || !toSign {
			t.Errorf("%s: canonical request printed %v, string to sign printed %v", sdk, canonical, toSign)
		}
	}
	if strings.Contains(stderr, server.Params().SecretKey) {
		t.Error("verbose output contains the secret key")
	}
	if strings.Contains(stdout, "CANONICAL") {
		t.Error("signing debug went to stdout; it belongs on stderr")
	}
}

func TestUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no bucket":      {"--endpoint", "http://127.0.0.1:1"},
		"half keys":      {"--bucket", "b-1", "--access-key", "a"},
		"unknown flag":   {"--bucket", "b-1", "--nope"},
		"stray argument": {"--bucket", "b-1", "extra"},
		"missing creds":  {"--credentials-file", filepath.Join(t.TempDir(), "absent.json")},
	} {
		if _, _, rc := runBinary(t, nil, args...); rc != 2 {
			t.Errorf("%s: rc = %d, want 2", name, rc)
		}
	}
}
