package registry_test

import (
	"net/http"
	"sync"
	"testing"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
)

// pullCount records CountPull calls.
type pullCount struct {
	mu     sync.Mutex
	counts map[string]int
}

func (p *pullCount) CountPull(did, repository string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[did+"/"+repository]++
}

// TestManifestGetsAreCountedAsPulls: every answered manifest GET counts a
// pull of its repository (by the owner's DID); HEADs and unknown manifests
// do not.
func TestManifestGetsAreCountedAsPulls(t *testing.T) {
	pulls := &pullCount{counts: map[string]int{}}
	env := newTestEnv(t, storagetest.EnvOptions{}, func(o *registry.Options) { o.Pulls = pulls })
	d, _ := env.pushImage(t, env.alice, "alice.test/app", "v1")
	for _, c := range []struct{ method, ref string }{
		{http.MethodGet, "v1"}, {http.MethodGet, d.String()}, {http.MethodHead, "v1"}, {http.MethodGet, "nope"},
	} {
		env.call(t, storagetest.User{}, c.method, "/v2/alice.test/app/manifests/"+c.ref, nil, nil).Body.Close()
	}
	want := map[string]int{env.alice.DID.String() + "/app": 2}
	if len(pulls.counts) != 1 || pulls.counts[env.alice.DID.String()+"/app"] != 2 {
		t.Fatalf("pulls %v, want %v", pulls.counts, want)
	}
}
