package clientaddr

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestAddr(t *testing.T) {
	behindProxies, err := New([]string{"127.0.0.0/8", "::1", "10.1.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := New(nil)
	tests := []struct {
		name string
		r    *Resolver
		peer string
		xff  []string
		want string
	}{
		{"direct client, no header", behindProxies, "198.51.100.4:5555", nil, "198.51.100.4"},
		{"direct client forging the header", behindProxies, "198.51.100.4:5555", []string{"203.0.113.1"}, "198.51.100.4"},
		{"behind the proxy", behindProxies, "127.0.0.1:40000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"forged entry left of the proxy's", behindProxies, "127.0.0.1:40000", []string{"10.9.9.9, 203.0.113.9"}, "203.0.113.9"},
		{"forged entry on its own line", behindProxies, "127.0.0.1:40000", []string{"10.9.9.9", "203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", behindProxies, "[::1]:40000", []string{"203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"all hops trusted", behindProxies, "127.0.0.1:40000", []string{"10.1.0.5"}, "10.1.0.5"},
		{"proxy without a header", behindProxies, "127.0.0.1:40000", nil, "127.0.0.1"},
		{"garbled right-most entry", behindProxies, "127.0.0.1:40000", []string{"203.0.113.9, unknown"}, "127.0.0.1"},
		{"entry with a port", behindProxies, "127.0.0.1:40000", []string{"[2001:db8::7]:1234"}, "2001:db8::7"},
		{"mapped IPv4 peer", behindProxies, "[::ffff:127.0.0.1]:40000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusting nobody", direct, "127.0.0.1:40000", []string{"203.0.113.9"}, "127.0.0.1"},
		{"nil resolver trusts loopback", nil, "127.0.0.1:40000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"nil resolver, public peer", nil, "198.51.100.4:5555", []string{"203.0.113.9"}, "198.51.100.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.r.Addr(req); got != netip.MustParseAddr(tc.want) {
				t.Errorf("Addr = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNewRefusesNonAddresses(t *testing.T) {
	for _, bad := range []string{"caddy.internal", "127.0.0.1:80", "10.0.0.0/33", "fe80::1%eth0", ""} {
		if _, err := New([]string{bad}); err == nil {
			t.Errorf("trusted proxy %q accepted", bad)
		}
	}
}

func TestKey(t *testing.T) {
	if Key(netip.MustParseAddr("203.0.113.9")) != netip.MustParsePrefix("203.0.113.9/32") {
		t.Error("an IPv4 address is its own key")
	}
	a, b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	if Key(a) != Key(b) || Key(a) != netip.MustParsePrefix("2001:db8:1:2::/64") {
		t.Errorf("one /64 gives two keys: %s %s", Key(a), Key(b))
	}
	if Key(netip.MustParseAddr("2001:db8:1:3::1")) == Key(a) {
		t.Error("two /64s share a key")
	}
	if Key(netip.MustParseAddr("::ffff:203.0.113.9")) != Key(netip.MustParseAddr("203.0.113.9")) {
		t.Error("a mapped IPv4 address differs from the IPv4 address")
	}
	if Key(netip.Addr{}) != (netip.Prefix{}) {
		t.Error("the unknown address has a key of its own")
	}
}
