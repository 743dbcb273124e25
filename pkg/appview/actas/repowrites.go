package actas

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"

	"atcr.io/pkg/keyedmutex"
)

// One write at a time to each account's repository. A PDS commits to one
// repository one write at a time anyway: the reference PDS opens the
// account's SQLite database per request, and a write transaction that
// finds another one under way fails with SQLITE_BUSY and is started over
// from the beginning after a back-off (1, 2, 5, 10 … ms, up to 5 s). Eight
// concurrent pushes to one account made it spend about 40 % of its CPU on
// attempts thrown away (65–66 ms of PDS CPU per push/pull cycle against
// 37–41 ms with the writes sent one at a time; the stress run took
// 15.9–16.2 s against 11.7–13.0 s, docs/benchmarks.md). So every PDS
// client the Chooser hands out sends its repository writes through a
// per-account lock, held until the PDS answers; reads are not held back.
//
// With Redis (Options.Redis) the AppViews of a cluster also take a shared
// lock per account (sharedWriteLock) after their own, so two AppViews do
// not race each other's writes either. It only spares the PDS work: a
// write that cannot have it within sharedLockWait, or while Redis fails,
// goes ahead without it, and the PDS orders the writes as it always does.

// repoWriteMethods are the procedures that write to the caller's
// repository database.
var repoWriteMethods = map[string]bool{
	"com.atproto.repo.applyWrites":  true,
	"com.atproto.repo.createRecord": true,
	"com.atproto.repo.putRecord":    true,
	"com.atproto.repo.deleteRecord": true,
	"com.atproto.repo.uploadBlob":   true,
	"com.atproto.repo.importRepo":   true,
}

// serialWrites is an http.RoundTripper that sends one account's
// repository writes one at a time.
type serialWrites struct {
	base   http.RoundTripper
	did    string
	locks  *keyedmutex.Map
	shared *sharedWriteLock // nil without Redis
}

// RoundTrip implements http.RoundTripper.
func (t *serialWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	_, method, _ := strings.Cut(req.URL.Path, "/xrpc/") // a PDS may live below a path
	if req.Method != http.MethodPost || !repoWriteMethods[method] {
		return t.base.RoundTrip(req)
	}
	unlock, err := t.locks.LockContext(req.Context(), t.did)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, err
	}
	// The PDS has committed (or refused) when it answers; reading the
	// answer's body needs no lock.
	defer unlock()
	if t.shared != nil {
		defer t.shared.acquire(req.Context(), t.did)()
	}
	return t.base.RoundTrip(req)
}

// serialised returns a shallow copy of api whose repository writes go
// through did's lock in locks (and in shared, when not nil). api itself,
// which a source may share between calls, is not changed.
func serialised(api *atclient.APIClient, did syntax.DID, locks *keyedmutex.Map, shared *sharedWriteLock) *atclient.APIClient {
	hc := http.Client{}
	if api.Client != nil {
		hc = *api.Client
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &serialWrites{base: base, did: did.String(), locks: locks, shared: shared}
	out := *api
	out.Client = &hc
	return &out
}

// The shared lock: a key per account set with SET NX PX to a random token,
// deleted by its holder only while it still holds that token.
const (
	// sharedLockTTL frees the lock of an AppView that stopped while
	// holding it; a write taking longer runs on unguarded.
	sharedLockTTL = 10 * time.Second
	// sharedLockWait bounds how long a write waits for another AppView's.
	sharedLockWait = 5 * time.Second
	// sharedLockPollMin and sharedLockPollMax bound the pause between two
	// tries (doubling from the first): a PDS write takes tens of ms.
	sharedLockPollMin, sharedLockPollMax = time.Millisecond, 8 * time.Millisecond
	// sharedLockTimeout bounds one Redis call.
	sharedLockTimeout = time.Second
)

// releaseIfOurs deletes the lock if it still holds our token.
var releaseIfOurs = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// sharedWriteLock is the per-account write lock of the AppViews sharing
// one Redis.
type sharedWriteLock struct {
	rdb    redis.UniversalClient
	prefix string // + DID
	log    *slog.Logger
	// warned is when Redis's failure was last logged (unix ns): once per
	// sharedLockWarnEvery, not once per write, while it is down.
	warned atomic.Int64
}

// sharedLockWarnEvery spaces the warnings of a Redis that fails.
const sharedLockWarnEvery = 10 * time.Second

// acquire takes did's shared lock and returns its release. When it cannot
// (another AppView held it for sharedLockWait, ctx ended, Redis failed)
// it returns a release that does nothing: the write goes ahead unguarded.
func (l *sharedWriteLock) acquire(ctx context.Context, did string) (release func()) {
	key := l.prefix + did
	token := rand.Text()
	deadline := time.Now().Add(sharedLockWait)
	pause := sharedLockPollMin
	for {
		cctx, cancel := context.WithTimeout(ctx, sharedLockTimeout)
		ok, err := l.rdb.SetNX(cctx, key, token, sharedLockTTL).Result()
		cancel()
		switch {
		case err != nil:
			if last := l.warned.Load(); ctx.Err() == nil && time.Since(time.Unix(0, last)) > sharedLockWarnEvery && l.warned.CompareAndSwap(last, time.Now().UnixNano()) {
				l.log.WarnContext(ctx, "actas: shared PDS write lock unavailable; writing without it", "did", did, "err", err)
			}
			return func() {}
		case ok:
			return func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedLockTimeout)
				defer cancel()
				if err := releaseIfOurs.Run(rctx, l.rdb, []string{key}, token).Err(); err != nil {
					l.log.WarnContext(ctx, "actas: release shared PDS write lock (it expires by itself)", "did", did, "err", err)
				}
			}
		case time.Now().After(deadline):
			l.log.InfoContext(ctx, "actas: shared PDS write lock still held elsewhere; writing without it", "did", did, "waited", sharedLockWait)
			return func() {}
		}
		select {
		case <-ctx.Done():
			return func() {}
		case <-time.After(pause):
		}
		pause = min(2*pause, sharedLockPollMax)
	}
}
