//go:build e2e

package e2e

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// clusterUploadID is the session part of an upload URI.
var clusterUploadID = regexp.MustCompile(`/blobs/uploads/([^/?]+)`)

// TestClusterCranePushPull: crane pushes and pulls through the load
// balancer, which sends each request to the next AppView in turn. A push
// counts only when Caddy's log shows one of its upload sessions served by
// both AppViews (a PATCH on one, the PUT on the other, say), which fails
// with sessions kept per process; crane's concurrency decides how requests
// interleave, so the test pushes again (at most five images) until one
// session has crossed, and every image must pull back as pushed.
func TestClusterCranePushPull(t *testing.T) {
	a, b, _ := clusterNodes(t)
	alice := regAlice(t)
	registry := env(t, "ATCR_REGISTRY")
	rt := newRegTools(t)
	rt.run(t, "crane", "auth", "login", registry, "-u", alice.Handle, "-p", alice.Password)
	repo := regRepo(alice, "cluster-crane")

	crossed := ""
	for i := 1; i <= 5 && crossed == ""; i++ {
		ref := fmt.Sprintf("%s/%s:v%d", registry, repo, i)
		var files []string
		var args []string
		for l := range 3 {
			name := fmt.Sprintf("layer%d.txt", l)
			content := hex.EncodeToString(holdRandom(t, 256<<10))
			files = append(files, content)
			args = append(args, "-f", clusterLayerTar(t, rt.dir, fmt.Sprintf("v%d-%d", i, l), name, content))
		}
		rt.run(t, "crane", append([]string{"append", "-t", ref}, args...)...)
		exported := rt.run(t, "crane", "export", ref, "-")
		for l, content := range files {
			if !strings.Contains(exported, content) {
				t.Fatalf("crane export %s: layer%d.txt did not come back as pushed", ref, l)
			}
		}
		crossed = clusterCrossedSession(t, a, b, "/v2/"+repo+"/blobs/uploads/")
	}
	if crossed == "" {
		t.Fatalf("in five pushes no upload session of %s was served by both AppViews (Caddy log %s)", repo, env(t, "ATCR_CADDY_UPSTREAM_LOG"))
	}
	t.Logf("upload session %s was served by both AppViews", crossed)
	requireServedBoth(t, a, b, "/v2/"+repo+"/manifests/")
}

// clusterCrossedSession returns an upload session id under prefix whose
// requests reached both AppViews, or "".
func clusterCrossedSession(t *testing.T, a, b clusterNode, prefix string) string {
	t.Helper()
	seen := map[string]map[string]bool{}
	for upstream, reqs := range clusterUpstreamHits(t, prefix) {
		for _, r := range reqs {
			if m := clusterUploadID.FindStringSubmatch(r); m != nil {
				if seen[m[1]] == nil {
					seen[m[1]] = map[string]bool{}
				}
				seen[m[1]][upstream] = true
			}
		}
	}
	for id, on := range seen {
		if on[a.Upstream] && on[b.Upstream] {
			return id
		}
	}
	return ""
}

// clusterLayerTar writes a one-file layer tarball under dir.
func clusterLayerTar(t *testing.T, dir, id, name, content string) string {
	t.Helper()
	src := filepath.Join(dir, "layer-"+id)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tarPath := src + ".tar"
	if out, err := exec.Command("tar", "-C", src, "-cf", tarPath, name).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return tarPath
}
