package holdoci

import (
	"context"
	"net/http"
	"sync"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/hold/layerindex"
)

// fakeAuth is an Authorizer with explicit reader and writer lists.
type fakeAuth struct {
	mu      sync.Mutex
	public  bool
	readers map[syntax.DID]bool
	writers map[syntax.DID]bool
}

func newFakeAuth(writers ...syntax.DID) *fakeAuth {
	a := &fakeAuth{public: true, readers: map[syntax.DID]bool{}, writers: map[syntax.DID]bool{}}
	for _, w := range writers {
		a.writers[w] = true
	}
	return a
}

func (a *fakeAuth) setPublic(public bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.public = public
}

func (a *fakeAuth) CanRead(_ context.Context, caller syntax.DID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.public:
		return nil
	case caller == "":
		return xrpc.AuthRequired("this hold is private")
	case a.readers[caller] || a.writers[caller]:
		return nil
	}
	return xrpc.Forbidden("not crew")
}

func (a *fakeAuth) CanWrite(_ context.Context, caller syntax.DID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case caller == "":
		return xrpc.AuthRequired("sign in")
	case a.writers[caller]:
		return nil
	}
	return xrpc.Forbidden("no blob:write")
}

// fakeQuota charges users by the distinct digests of their layer records
// in the real PDS (through its layer index, as the crew package does),
// against one limit for everyone.
type fakeQuota struct {
	layers *layerindex.Index
	mu     sync.Mutex
	limit  int64 // < 0: unlimited
	adds   []int64
}

func (q *fakeQuota) setLimit(limit int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limit = limit
}

// lastAdd returns the addBytes of the latest CheckQuota call.
func (q *fakeQuota) lastAdd() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.adds) == 0 {
		return -1
	}
	return q.adds[len(q.adds)-1]
}

func (q *fakeQuota) CheckQuota(ctx context.Context, user syntax.DID, addBytes int64) (int64, int64, error) {
	q.mu.Lock()
	q.adds = append(q.adds, addBytes)
	limit := q.limit
	q.mu.Unlock()
	current, err := q.layers.Usage(ctx, user)
	if err != nil {
		return 0, 0, err
	}
	used := current + addBytes
	if limit >= 0 && used > limit {
		return 0, 0, xrpc.NewError(http.StatusBadRequest, atcr.ErrorQuotaExceeded, "over quota")
	}
	return used, limit, nil
}

// fakeCaptain switches Bluesky posts.
type fakeCaptain struct {
	mu    sync.Mutex
	posts bool
}

func (c *fakeCaptain) set(posts bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = posts
}

func (c *fakeCaptain) BlueskyPostsEnabled(context.Context) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posts
}
