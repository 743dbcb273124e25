package auth

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/appview/throttle"
)

// Limits of the app-password login throttle. The user's PDS is the real
// judge of a password, and the reference PDS allows 30 createSession calls
// per identifier and client IP in 5 minutes and 300 a day — for logins
// through ATCR the client IP is the AppView's, so every ATCR user of an
// account shares that budget. The throttle keeps strangers from spending it:
//
//   - a client (account, client address) that fails maxClientFailures times
//     within clientFailureWindow is refused until the window ends; other
//     clients of the account are not affected;
//   - failures of the account from all clients together are capped below
//     the PDS's budget (accountLimits); past a cap, only clients that logged
//     in to the account successfully within knownClientTTL may still try,
//     so distributed guessing cannot lock the owner's usual machines out.
const (
	maxClientFailures   = 10
	clientFailureWindow = 5 * time.Minute
	knownClientTTL      = 7 * 24 * time.Hour
	throttleSize        = 10_000
)

// accountLimits are the per-account caps on failures from clients without a
// recent success: two thirds of the reference PDS's 5-minute and daily
// budgets, leaving the rest to known clients.
var accountLimits = []struct {
	max    int
	window time.Duration
}{
	{20, 5 * time.Minute},
	{200, 24 * time.Hour},
}

// loginClient is one client of one account: the unit the first limit
// counts.
type loginClient struct {
	did  syntax.DID
	addr netip.Prefix // clientaddr.Key of the client address
}

// String is the client's name in the shared counters: the same text in
// every AppView ("did:plc:… 198.51.100.7/32").
func (c loginClient) String() string { return c.did.String() + " " + c.addr.String() }

// loginThrottle decides whether a login attempt may reach the credential
// check, and learns from its outcome. It is safe for concurrent use.
type loginThrottle struct {
	now      func() time.Time
	clients  *throttle.Failures[loginClient]
	accounts []*throttle.Failures[syntax.DID]
	known    *lru.Cache[loginClient, time.Time] // last success of a client
}

// newLoginThrottle returns a throttle counting in this process, or, with
// rdb, in Redis under prefix, shared by the AppViews using it (the record
// of clients that logged in successfully stays per process).
func newLoginThrottle(now func() time.Time, rdb redis.UniversalClient, prefix string) (*loginThrottle, error) {
	t := &loginThrottle{now: now}
	var err error
	if t.clients, err = throttle.New[loginClient](throttle.Options{Max: maxClientFailures, Window: clientFailureWindow, Size: throttleSize, Now: now,
		Redis: rdb, RedisKey: prefix + "fail:login-client:"}); err != nil {
		return nil, err
	}
	for i, l := range accountLimits {
		f, err := throttle.New[syntax.DID](throttle.Options{Max: l.max, Window: l.window, Size: throttleSize, Now: now,
			Redis: rdb, RedisKey: fmt.Sprintf("%sfail:login-account-%d:", prefix, i)})
		if err != nil {
			return nil, err
		}
		t.accounts = append(t.accounts, f)
	}
	if t.known, err = lru.New[loginClient, time.Time](throttleSize); err != nil {
		return nil, err
	}
	return t, nil
}

// allow returns an error wrapping ErrRateLimited when the attempt must be
// refused without asking the PDS.
func (t *loginThrottle) allow(did syntax.DID, addr netip.Addr) error {
	c := loginClient{did: did, addr: clientaddr.Key(addr)}
	if t.clients.Blocked(c) {
		return fmt.Errorf("%w: %s from %s: %d failed logins within %s", ErrRateLimited, did, addr, maxClientFailures, clientFailureWindow)
	}
	if t.isKnown(c) {
		return nil
	}
	for i, f := range t.accounts {
		if f.Blocked(did) {
			l := accountLimits[i]
			return fmt.Errorf("%w: %s: %d failed logins from all clients within %s, and %s has not logged in to it recently",
				ErrRateLimited, did, l.max, l.window, addr)
		}
	}
	return nil
}

// failed counts a refused credential against the client and the account.
func (t *loginThrottle) failed(did syntax.DID, addr netip.Addr) {
	t.clients.Record(loginClient{did: did, addr: clientaddr.Key(addr)})
	for _, f := range t.accounts {
		f.Record(did)
	}
}

// succeeded remembers the client as one that knows the account's
// credential.
func (t *loginThrottle) succeeded(did syntax.DID, addr netip.Addr) {
	t.known.Add(loginClient{did: did, addr: clientaddr.Key(addr)}, t.now())
}

func (t *loginThrottle) isKnown(c loginClient) bool {
	last, ok := t.known.Get(c)
	return ok && t.now().Sub(last) < knownClientTTL
}
