//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/oci"
)

// TestClusterHolds: users on different holds, and a retiring hold, through
// the cluster. A user whose profile names hold.test and one whose profile
// names retiring-hold.test push through the load balancer; each image's
// manifest record names its user's hold and each pulls back from it. Then
// the AppViews learn that retiring-hold.test is retired: its captain
// record names hold.test as its successor, and the operator's
// `atcr-appview index backfill did:web:retiring-hold.test` (run with
// appview-a's config) puts that record into the shared index. A third
// user whose profile names the retiring hold pushes through appview-b (and
// appview-a): the pushes land on the successor. The image pushed to the
// retiring hold before still pulls from it. With an index per AppView,
// appview-b would not know of the retirement and push to the old hold.
func TestClusterHolds(t *testing.T) {
	a, b, lb := clusterNodes(t)
	retiring := env(t, "ATCR_RETIRING_HOLD_DID")
	public := env(t, "ATCR_HOLD_DID")

	publicHold := holdPublic(t)
	retiringHold := holdTarget{URL: env(t, "ATCR_RETIRING_HOLD_URL"), DID: retiring, Aud: retiring}
	onPublic := clusterNewUser(t, "carol")
	onPublic.setDefaultHold(t, public)
	onPublic.joinCrew(t, publicHold)
	before := clusterNewUser(t, "dave")
	before.setDefaultHold(t, retiring)
	before.joinCrew(t, retiringHold)

	pubImg := clusterPushImage(t, lb, onPublic, "cluster-holds", "v1")
	pubImg.requireHold(t, public)
	oldImg := clusterPushImage(t, lb, before, "cluster-holds", "v1")
	oldImg.requireHold(t, retiring)
	pubImg.requirePull(t, lb)
	oldImg.requirePullFrom(t, lb, "s3.retiring-hold.test")

	// The retirement reaches the shared index through appview-a's config.
	cmd := exec.Command("atcr-appview", "index", "backfill", retiring, "--config", env(t, "ATCR_APPVIEW_A_CONFIG"))
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("atcr-appview index backfill %s: %v\n%s", retiring, err, out)
	}

	// erin's profile names the retiring hold; like its other users, she
	// has joined the successor's crew.
	after := clusterNewUser(t, "erin")
	after.setDefaultHold(t, retiring)
	after.joinCrew(t, retiringHold)
	after.joinCrew(t, publicHold)
	for _, node := range []clusterNode{b, a} {
		img := clusterPushImage(t, node, after, "cluster-holds", "via-"+node.Name)
		img.requireHold(t, public)
		img.requirePull(t, lb)
	}
	// Pushed before the retirement: still on, and pulled from, the old hold.
	oldImg.requirePullFrom(t, lb, "s3.retiring-hold.test")
	oldImg.requirePullFrom(t, b, "s3.retiring-hold.test")
}

// clusterImage is an image a cluster test pushed: who, where, what.
type clusterImage struct {
	user          clusterUser
	repo, tag     string
	token         string
	manifest      oci.Digest
	config, layer []byte
	pushedThrough string
}

// clusterPushImage pushes a small random image (config + one layer) as
// user's path:tag through node and returns it.
func clusterPushImage(t *testing.T, node clusterNode, user clusterUser, path, tag string) clusterImage {
	t.Helper()
	img := clusterImage{user: user, repo: user.Handle + "/" + path, tag: tag, pushedThrough: node.Name}
	img.token = node.token(t, user.Handle, user.Password, clusterPushScope(img.repo))
	img.config = []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":%q}`, time.Now().UTC().Format(time.RFC3339Nano)))
	img.layer = holdRandom(t, 256<<10)
	node.pushMonolithic(t, img.token, img.repo, img.config)
	node.pushMonolithic(t, img.token, img.repo, img.layer)
	img.manifest = node.putImage(t, img.token, img.repo, tag, img.config, img.layer)
	return img
}

// requireHold fails unless the image's manifest record names hold.
func (img clusterImage) requireHold(t *testing.T, hold string) {
	t.Helper()
	for _, rec := range regRecords(t, img.user.DID, "io.atcr.manifest") {
		if rec.Value["digest"] == img.manifest.String() {
			if got := rec.Value["holdDid"]; got != hold {
				t.Fatalf("%s:%s pushed through %s went to hold %v, want %s", img.repo, img.tag, img.pushedThrough, got, hold)
			}
			return
		}
	}
	t.Fatalf("no io.atcr.manifest record of %s in %s's repository", img.manifest, img.user.Handle)
}

func (img clusterImage) requirePull(t *testing.T, node clusterNode) {
	t.Helper()
	node.requirePull(t, img.token, img.repo, img.tag, img.manifest, img.config, img.layer)
}

// requirePullFrom pulls the image and checks that its layer's redirect goes
// to storageHost (the storage of the hold the manifest names).
func (img clusterImage) requirePullFrom(t *testing.T, node clusterNode, storageHost string) {
	t.Helper()
	img.requirePull(t, node)
	r := node.do(t, http.MethodGet, "/v2/"+img.repo+"/blobs/"+oci.FromBytes(oci.SHA256, img.layer).String(), img.token, nil, nil)
	loc, err := url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusTemporaryRedirect || err != nil || !strings.EqualFold(loc.Hostname(), storageHost) {
		t.Fatalf("%s: the layer of %s:%s redirects to %q (%d), want %s", node.Name, img.repo, img.tag, r.Header.Get("Location"), r.Status, storageHost)
	}
}
