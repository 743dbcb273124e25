package auth

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/redistest"
)

// M6: a stranger who knows alice's handle sends 50 wrong passwords from
// their own address. Their address is throttled after maxClientFailures
// (the PDS sees no more), and alice's correct login from her address — a
// first login, nothing cached — still succeeds.
func TestStrangerCannotLockOwnerOut(t *testing.T) {
	e := newEnv(t)
	const stranger, owner = "198.51.100.7", "203.0.113.5"
	var refused, throttled int
	for range 50 {
		switch r := e.getTokenFrom(t, stranger, "alice.test", "guess"); r.status {
		case http.StatusUnauthorized:
			refused++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Fatalf("stranger: HTTP %d %s", r.status, r.raw)
		}
	}
	if refused != maxClientFailures || throttled != 50-maxClientFailures {
		t.Errorf("stranger: %d refused, %d throttled; want %d and %d", refused, throttled, maxClientFailures, 50-maxClientFailures)
	}
	if n := e.pds.Calls(createSession); n != maxClientFailures {
		t.Errorf("createSession calls = %d, want %d: the stranger's throttled guesses reached the PDS", n, maxClientFailures)
	}
	if r := e.getTokenFrom(t, owner, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("owner's login after the stranger's guesses: HTTP %d %s, want 200", r.status, r.raw)
	}
	if r := e.getTokenFrom(t, stranger, "alice.test", "guess"); r.status != http.StatusTooManyRequests {
		t.Errorf("stranger after the owner's login: HTTP %d, want 429", r.status)
	}
}

// Guessing from many addresses hits the per-account cap, which refuses
// clients that have not logged in to the account recently; the owner's
// known client still gets its password checked (the cached success has
// expired), and the cap ends with its window.
func TestDistributedGuessingSparesKnownClients(t *testing.T) {
	e := newEnv(t)
	const owner = "203.0.113.5"
	if r := e.getTokenFrom(t, owner, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("owner: HTTP %d", r.status)
	}
	e.clock.Advance(DefaultVerifyCacheTTL + 1) // the next owner login asks the PDS again
	capacity := accountLimits[0].max
	for i := range capacity {
		if r := e.getTokenFrom(t, fmt.Sprintf("198.51.100.%d", i+1), "alice.test", "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: HTTP %d, want 401", i, r.status)
		}
	}
	calls := e.pds.Calls(createSession)
	if r := e.getTokenFrom(t, "198.51.100.200", "alice.test", "guess"); r.status != http.StatusTooManyRequests {
		t.Errorf("a new address past the account cap: HTTP %d, want 429", r.status)
	}
	// The trade-off: an address that never logged in is refused too.
	if r := e.getTokenFrom(t, "192.0.2.50", "alice.test", alice.AppPassword); r.status != http.StatusTooManyRequests {
		t.Errorf("an unknown address with the right password past the cap: HTTP %d, want 429", r.status)
	}
	if n := e.pds.Calls(createSession); n != calls {
		t.Errorf("refused attempts reached the PDS: %d calls, want %d", n, calls)
	}
	if r := e.getTokenFrom(t, owner, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("owner's known address past the cap: HTTP %d %s, want 200", r.status, r.raw)
	}
	if n := e.pds.Calls(createSession); n != calls+1 {
		t.Errorf("the owner's login was not checked at the PDS (%d calls, want %d)", n, calls+1)
	}
	// Bob is not affected; the cap ends with its window.
	if r := e.getTokenFrom(t, "198.51.100.200", "bob.test", bob.AppPassword); r.status != http.StatusOK {
		t.Errorf("bob: HTTP %d", r.status)
	}
	e.clock.Advance(accountLimits[0].window)
	if r := e.getTokenFrom(t, "192.0.2.50", "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Errorf("a new address after the window: HTTP %d, want 200", r.status)
	}
}

// Slow guessing that stays under the 5-minute cap meets the daily one,
// which keeps strangers below the PDS's daily budget for the account.
func TestDailyAccountCap(t *testing.T) {
	e := newEnv(t)
	short, daily := accountLimits[0], accountLimits[1]
	perWindow := short.max - 1
	guesses, addr := 0, 0
	for guesses < daily.max {
		for i := 0; i < perWindow && guesses < daily.max; i++ {
			addr++
			if r := e.getTokenFrom(t, fmt.Sprintf("10.%d.%d.1", addr/256, addr%256), "alice.test", "guess"); r.status != http.StatusUnauthorized {
				t.Fatalf("guess %d: HTTP %d, want 401", guesses, r.status)
			}
			guesses++
		}
		e.clock.Advance(short.window)
	}
	if r := e.getTokenFrom(t, "192.0.2.50", "alice.test", alice.AppPassword); r.status != http.StatusTooManyRequests {
		t.Errorf("past the daily cap: HTTP %d, want 429", r.status)
	}
	e.clock.Advance(daily.window)
	if r := e.getTokenFrom(t, "192.0.2.50", "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Errorf("after the day: HTTP %d, want 200", r.status)
	}
}

// One IPv6 client owns a /64: rotating addresses inside it counts as one
// client; another /64 is another client.
func TestIPv6ClientsCountPerPrefix(t *testing.T) {
	e := newEnv(t)
	for i := range maxClientFailures {
		if r := e.getTokenFrom(t, fmt.Sprintf("2001:db8:1:2::%x", i+1), "alice.test", "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: HTTP %d, want 401", i, r.status)
		}
	}
	if r := e.getTokenFrom(t, "2001:db8:1:2:ffff::1", "alice.test", "guess"); r.status != http.StatusTooManyRequests {
		t.Errorf("a new address in the same /64: HTTP %d, want 429", r.status)
	}
	if r := e.getTokenFrom(t, "2001:db8:1:3::1", "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Errorf("another /64: HTTP %d, want 200", r.status)
	}
}

// The per-client counter's name in Redis is the same text in every AppView
// (fmt's rendering of the struct printed a pointer of this process, so
// each AppView counted a client apart: 10 guesses per AppView).
func TestLoginClientIsNamedTheSameEverywhere(t *testing.T) {
	c := loginClient{did: "did:plc:abc", addr: netip.MustParsePrefix("198.51.100.7/32")}
	if got, want := c.String(), "did:plc:abc 198.51.100.7/32"; got != want {
		t.Fatalf("loginClient.String() = %q, want %q", got, want)
	}
}

// Two AppViews sharing Redis count one client's failures together: the
// second refuses the client once the failures on both reach the limit.
func TestSharedLoginThrottleCountsAClientAcrossAppViews(t *testing.T) {
	rdb := redistest.New(t)
	a, err := newLoginThrottle(time.Now, rdb, "atcr:")
	if err != nil {
		t.Fatal(err)
	}
	b, err := newLoginThrottle(time.Now, rdb, "atcr:")
	if err != nil {
		t.Fatal(err)
	}
	did, addr := syntax.DID("did:plc:abc"), netip.MustParseAddr("198.51.100.7")
	for i := range maxClientFailures {
		if err := []*loginThrottle{a, b}[i%2].allow(did, addr); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		[]*loginThrottle{a, b}[i%2].failed(did, addr)
	}
	for name, th := range map[string]*loginThrottle{"first": a, "second": b} {
		if err := th.allow(did, addr); err == nil {
			t.Errorf("the %s AppView lets the client try again after %d failures across both", name, maxClientFailures)
		}
	}
}
