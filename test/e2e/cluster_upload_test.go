//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/oci"
)

// TestClusterPushAlternatesAppViews: one blob upload whose session is opened
// on appview-a and whose PATCH chunks (of sizes that fall on no part
// boundary) go to appview-b, appview-a, appview-b, … in turn; after each
// chunk the other AppView reports the same Range. The PUT that closes it
// goes to the AppView that did not take the last chunk, and the image pulls
// back bit for bit through the load balancer. With upload sessions kept per
// process the first PATCH on appview-b would be BLOB_UPLOAD_UNKNOWN.
func TestClusterPushAlternatesAppViews(t *testing.T) {
	a, b, lb := clusterNodes(t)
	alice := regAlice(t)
	repo := regRepo(alice, "cluster-alternate")
	token := a.token(t, alice.Handle, alice.Password, clusterPushScope(repo))

	sizes := []int{3<<20 + 17, 5 << 20, 1<<20 + 3, 4 << 20, 777 << 10}
	total := 0
	for _, n := range sizes {
		total += n
	}
	layer := holdRandom(t, total)
	nodes := [2]clusterNode{b, a}

	loc := a.uploadStart(t, token, repo)
	var offset int64
	for i, n := range sizes {
		on, other := nodes[i%2], nodes[(i+1)%2]
		var end int64
		loc, end = on.uploadChunk(t, token, loc, offset, layer[offset:offset+int64(n)])
		offset += int64(n)
		if end != offset-1 {
			t.Fatalf("chunk %d on %s: Range ends at %d, want %d", i, on.Name, end, offset-1)
		}
		if got := other.uploadStatus(t, token, loc); got != offset-1 {
			t.Fatalf("after chunk %d on %s, %s reports Range end %d, want %d", i, on.Name, other.Name, got, offset-1)
		}
	}
	layerDigest := oci.FromBytes(oci.SHA256, layer)
	nodes[len(sizes)%2].uploadFinish(t, token, loc, layerDigest)

	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":%q}`, time.Now().UTC().Format(time.RFC3339Nano)))
	b.pushMonolithic(t, token, repo, config)
	manifest := a.putImage(t, token, repo, "v1", config, layer)
	lb.requirePull(t, token, repo, "v1", manifest, config, layer)

	// Both AppViews really took chunks of this session.
	hits := requireServedBoth(t, a, b, "/v2/"+repo+"/blobs/uploads/")
	for _, node := range []clusterNode{a, b} {
		patches := 0
		for _, h := range hits[node.Upstream] {
			if strings.HasPrefix(h, http.MethodPatch+" ") {
				patches++
			}
		}
		if patches == 0 {
			t.Errorf("%s served no PATCH of the upload: %v", node.Name, hits[node.Upstream])
		}
	}
}

// TestClusterAppViewKilledMidPatch: appview-a takes a first chunk, then is
// killed (SIGKILL) while a second PATCH streams into it. appview-b reports
// the Range that survived (at least the acknowledged first chunk, at most
// what was sent), the client resumes from there on appview-b and closes
// the upload, and the image pulls back bit for bit through the load
// balancer. appview-a is started again afterwards and serves the image too.
func TestClusterAppViewKilledMidPatch(t *testing.T) {
	a, b, lb := clusterNodes(t)
	alice := regAlice(t)
	repo := regRepo(alice, "cluster-kill")
	token := a.token(t, alice.Handle, alice.Password, clusterPushScope(repo))
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			clusterRestart(t, a.Name)
		}
	})

	const first, second = 6 << 20, 12 << 20
	layer := holdRandom(t, first+second)
	loc := a.uploadStart(t, token, repo)
	loc, end := a.uploadChunk(t, token, loc, 0, layer[:first])
	if end != first-1 {
		t.Fatalf("first chunk: Range ends at %d, want %d", end, first-1)
	}

	// The second PATCH streams from a pipe: 4 MiB go out, then appview-a dies.
	body, feed := io.Pipe()
	type answer struct {
		r   regResponse
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		r, err := a.try(http.MethodPatch, loc, token, body, map[string]string{
			"Content-Type":   "application/octet-stream",
			"Content-Range":  fmt.Sprintf("%d-%d", first, first+second-1),
			"Content-Length": fmt.Sprint(second),
		})
		answered <- answer{r, err}
	}()
	const sent = 4 << 20
	written := make(chan error, 1)
	go func() {
		_, err := feed.Write(layer[first : first+sent])
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			t.Fatalf("stream the second chunk: %v", err)
		}
	case ans := <-answered:
		t.Fatalf("the second PATCH ended before 4 MiB were sent: %d %s %v", ans.r.Status, ans.r.Body, ans.err)
	case <-time.After(2 * time.Minute):
		t.Fatal("appview-a read less than 4 MiB of the second chunk in 2 minutes")
	}
	clusterKill(t, a.Name)
	feed.CloseWithError(fmt.Errorf("appview-a was killed"))
	if ans := <-answered; ans.err == nil && ans.r.Status < 500 {
		t.Fatalf("the PATCH into the killed appview-a was answered %d %s", ans.r.Status, ans.r.Body)
	}

	saved := b.uploadStatus(t, token, loc)
	if saved < first-1 || saved > first+sent-1 {
		t.Fatalf("appview-b reports Range end %d after the kill: want between %d (the acknowledged chunk) and %d (all that was sent)",
			saved, first-1, first+sent-1)
	}
	t.Logf("appview-b resumes from byte %d (%d of the interrupted chunk's %d sent bytes survived)", saved+1, saved+1-first, sent)
	loc, end = b.uploadChunk(t, token, loc, saved+1, layer[saved+1:])
	if end != int64(len(layer))-1 {
		t.Fatalf("resumed chunk: Range ends at %d, want %d", end, len(layer)-1)
	}
	layerDigest := oci.FromBytes(oci.SHA256, layer)
	b.uploadFinish(t, token, loc, layerDigest)
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":%q}`, time.Now().UTC().Format(time.RFC3339Nano)))
	b.pushMonolithic(t, token, repo, config)
	manifest := b.putImage(t, token, repo, "v1", config, layer)
	lb.requirePull(t, token, repo, "v1", manifest, config, layer)

	clusterRestart(t, a.Name)
	restarted = true
	a.requirePull(t, token, repo, "v1", manifest, config, layer)
}
