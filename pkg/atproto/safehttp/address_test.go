package safehttp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr    string
		allowed bool
		reason  string // substring of the error for refused addresses
	}{
		{"10.0.0.1", false, "private"},
		{"10.255.255.255", false, "private"},
		{"172.16.0.1", false, "private"},
		{"172.31.255.254", false, "private"},
		{"172.32.0.1", true, ""},
		{"192.168.1.1", false, "private"},
		{"127.0.0.1", false, "loopback"},
		{"127.10.20.30", false, "loopback"},
		{"::1", false, "loopback"},
		{"fe80::1", false, "link-local"},
		{"febf::1", false, "link-local"},
		{"fc00::1", false, "unique-local"},
		{"fd12:3456::1", false, "unique-local"},
		{"169.254.169.254", false, "link-local"},
		{"100.64.0.1", false, "carrier-grade NAT"},
		{"100.127.255.254", false, "carrier-grade NAT"},
		{"100.128.0.1", true, ""},
		{"0.0.0.0", false, "unspecified"},
		{"::", false, "unspecified"},
		{"::ffff:127.0.0.1", false, "IPv4-mapped"},
		{"::ffff:8.8.8.8", false, "IPv4-mapped"},
		{"224.0.0.1", false, "multicast"},
		{"ff02::1", false, "multicast"},
		{"255.255.255.255", false, "reserved"},
		{"192.0.2.10", false, "documentation"},
		{"2001:db8::1", false, "documentation"},
		{"64:ff9b::a00:1", false, "embeds 10.0.0.1"},
		{"2002:a00:1::1", false, "embeds 10.0.0.1"},
		{"64:ff9b::808:808", true, ""},
		// IPv4-compatible (::/96, deprecated), the new documentation range
		// and SRv6 SIDs; their neighbours stay allowed.
		{"::7f00:1", false, "IPv4-compatible"},
		{"::a00:1", false, "IPv4-compatible"},
		{"::808:808", false, "IPv4-compatible"},
		{"3fff::1", false, "documentation"},
		{"3fff:fff:ffff::1", false, "documentation"},
		{"3fff:1000::1", true, ""},
		{"5f00::1", false, "SRv6"},
		{"5f00:ffff::1", false, "SRv6"},
		{"5f01::1", true, ""},
		{"8.8.8.8", true, ""},
		{"1.1.1.1", true, ""},
		{"2606:4700:4700::1111", true, ""},
		{"2a01:4f8::1", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := CheckAddr(netip.MustParseAddr(tc.addr))
			if tc.allowed {
				if err != nil {
					t.Fatalf("CheckAddr(%s) = %v, want allowed", tc.addr, err)
				}
				return
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("CheckAddr(%s) = %v, want ErrForbiddenAddress", tc.addr, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("CheckAddr(%s) = %q, want reason %q", tc.addr, err, tc.reason)
			}
		})
	}
}

func TestCheckAddrScopedAndInvalid(t *testing.T) {
	if err := CheckAddr(netip.Addr{}); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("zero Addr: %v", err)
	}
	if err := CheckAddr(netip.MustParseAddr("fe80::1%eth0")); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("scoped addr: %v", err)
	}
}

func TestDialControl(t *testing.T) {
	control := dialControl(PrivateHosts{})
	tests := []struct {
		network, address string
		ok               bool
	}{
		{"tcp4", "8.8.8.8:443", true},
		{"tcp6", "[2606:4700:4700::1111]:443", true},
		{"tcp4", "127.0.0.1:443", false},
		{"tcp6", "[::1]:443", false},
		{"tcp6", "[::ffff:127.0.0.1]:443", false},
		{"udp4", "8.8.8.8:53", false},
		{"tcp4", "not-an-address", false},
	}
	for _, tc := range tests {
		err := control(tc.network, tc.address, nil)
		if (err == nil) != tc.ok {
			t.Errorf("dialControl(%s, %s) = %v, want ok=%v", tc.network, tc.address, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("dialControl(%s, %s) error %v does not wrap ErrForbiddenAddress", tc.network, tc.address, err)
		}
	}
}
