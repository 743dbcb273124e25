//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"atcr.io/pkg/oci"
)

// TestClusterReadYourWrites: an image pushed through the load balancer is
// pullable by tag and by digest from each AppView addressed directly, at
// once, and so is the tag moved by the next push. Both AppViews listed the
// repository (empty) and, from the second round, cached the tag before
// each push, and the round robin makes each of them the writer in some
// round. With a per-process index and tag cache the other AppView answered
// MANIFEST_UNKNOWN for the new digest (until its index could reload, every
// 10 s) and the old digest for the moved tag (until its tag cache expired).
func TestClusterReadYourWrites(t *testing.T) {
	a, b, lb := clusterNodes(t)
	alice := regAlice(t)
	repo := regRepo(alice, "cluster-ryw")
	token := lb.token(t, alice.Handle, alice.Password, clusterPushScope(repo))
	nodes := []clusterNode{a, b}
	for _, n := range nodes { // both list the repository before it exists
		if r := n.do(t, http.MethodGet, "/v2/"+repo+"/tags/list", token, nil, nil); r.Status != http.StatusNotFound {
			t.Fatalf("%s: tags of a repository nobody pushed: %d %s", n.Name, r.Status, r.Body)
		}
	}
	var previous oci.Digest
	for round := range 4 {
		config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":%q,"round":%d}`, time.Now().UTC().Format(time.RFC3339Nano), round))
		layer := holdRandom(t, 4<<10)
		lb.pushMonolithic(t, token, repo, config)
		lb.pushMonolithic(t, token, repo, layer)
		manifest := lb.putImage(t, token, repo, "latest", config, layer)
		if manifest == previous {
			t.Fatalf("round %d pushed the previous round's manifest", round)
		}
		for _, n := range nodes {
			requireManifestAt(t, n, token, repo, "latest", manifest)
			requireManifestAt(t, n, token, repo, manifest.String(), manifest)
		}
		previous = manifest
	}
}

// requireManifestAt fails unless the node answers repo's manifest ref
// (a tag or a digest) with the manifest of digest want.
func requireManifestAt(t *testing.T, n clusterNode, token, repo, ref string, want oci.Digest) {
	t.Helper()
	r := n.do(t, http.MethodGet, "/v2/"+repo+"/manifests/"+ref, token, nil,
		map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
	if got := oci.FromBytes(oci.SHA256, r.Body); r.Status != http.StatusOK || got != want {
		t.Fatalf("%s: GET %s:%s right after the push: %d, digest %s, want %s (%.200s)", n.Name, repo, ref, r.Status, got, want, r.Body)
	}
}
