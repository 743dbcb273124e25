package safehttp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParsePrivateHosts(t *testing.T) {
	p, err := ParsePrivateHosts([]string{"PDS.Internal.", "*.hold.internal", "10.0.0.7", "10.20.0.0/16", "fd00:1::/64", " plc.internal "})
	if err != nil {
		t.Fatal(err)
	}
	hosts := []struct {
		host string
		want bool
	}{
		{"pds.internal", true},
		{"PDS.INTERNAL.", true},
		{"plc.internal", true},
		{"a.hold.internal", true},
		{"x.y.hold.internal", true},
		{"hold.internal", false}, // the wildcard covers names below it only
		{"evilhold.internal", false},
		{"pds.internal.evil.example", false},
		{"other.internal", false},
		{"10.0.0.7", false}, // addresses are judged at dial time, by allowsAddr
	}
	for _, tc := range hosts {
		if got := p.allowsHost(tc.host); got != tc.want {
			t.Errorf("allowsHost(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
	addrs := []struct {
		addr string
		want bool
	}{
		{"10.0.0.7", true},
		{"10.0.0.8", false},
		{"10.20.255.1", true},
		{"10.21.0.1", false},
		{"::ffff:10.0.0.7", true},
		{"fd00:1::5", true},
		{"fd00:2::5", false},
		{"127.0.0.1", false},
	}
	for _, tc := range addrs {
		if got := p.allowsAddr(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("allowsAddr(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if p.Empty() {
		t.Error("a list with entries is Empty")
	}
	if (PrivateHosts{}).Empty() != true {
		t.Error("the zero list is not Empty")
	}

	for _, bad := range []string{"", "*", "*.", "https://pds.internal", "pds.internal:443", "pds internal", "10.0.0.0/33", "fe80::1%eth0", "-pds.internal", "*.*.internal"} {
		if _, err := ParsePrivateHosts([]string{"ok.internal", bad}); !errors.Is(err, ErrInvalidPrivateHost) {
			t.Errorf("entry %q: err = %v, want ErrInvalidPrivateHost", bad, err)
		}
	}
}

// localhostServer is an https server on 127.0.0.1 whose certificate names
// "localhost", so a client can reach it by a host name that is not an IP
// literal — the case PrivateHosts names are for.
func localhostServer(t *testing.T) (port string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(hello))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	_, port, err = net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port, pool
}

// A named private host is reachable, by that name only; every other
// private target stays refused — at the URL check for an IP literal and at
// dial time for a name that resolves to a private address.
func TestPrivateHostsNameReachesOnlyThatHost(t *testing.T) {
	port, pool := localhostServer(t)
	named, err := ParsePrivateHosts([]string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{PrivateHosts: named, RootCAs: pool})
	if body, err := get(t.Context(), c, "https://localhost:"+port+"/"); err != nil || body != "hello" {
		t.Fatalf("named private host: body %q, err %v", body, err)
	}
	for _, url := range []string{"https://127.0.0.1:" + port + "/", "https://[::1]:" + port + "/"} {
		_, err := get(t.Context(), c, url)
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s (not named): err = %v, want ErrForbiddenAddress", url, err)
		}
		if err != nil && !strings.Contains(err.Error(), "identity.private_hosts") {
			t.Errorf("refusal does not name the config key: %v", err)
		}
	}
	// Another name, not listed, that resolves to the same loopback address.
	other, _ := ParsePrivateHosts([]string{"pds.internal"})
	_, err = get(t.Context(), New(Options{PrivateHosts: other, RootCAs: pool}), "https://localhost:"+port+"/")
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("unlisted name resolving to loopback: err = %v, want ErrForbiddenAddress", err)
	}
	// Plain http stays refused for a named host.
	_, err = get(t.Context(), c, "http://localhost:"+port+"/")
	if !errors.Is(err, ErrForbiddenScheme) {
		t.Errorf("plain http to a named private host: err = %v, want ErrForbiddenScheme", err)
	}
}

// An address or prefix entry allows those addresses whatever the name, and
// no others.
func TestPrivateHostsPrefixAllowsItsAddresses(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(hello))
	ranged, err := ParsePrivateHosts([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{PrivateHosts: ranged, RootCAs: pool})
	if body, err := get(t.Context(), c, srv.URL); err != nil || body != "hello" {
		t.Fatalf("address in a listed prefix: body %q, err %v", body, err)
	}
	elsewhere, _ := ParsePrivateHosts([]string{"10.0.0.0/8"})
	if _, err := get(t.Context(), New(Options{PrivateHosts: elsewhere, RootCAs: pool}), srv.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("address outside the listed prefix: err = %v, want ErrForbiddenAddress", err)
	}

	// The dial-time check alone (a name that resolves into the prefix).
	control := dialControl(ranged)
	if err := control("tcp4", "127.0.0.1:443", nil); err != nil {
		t.Errorf("dial to a listed address: %v", err)
	}
	if err := control("tcp4", "10.0.0.1:443", nil); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("dial to an unlisted private address: %v", err)
	}
}

// A redirect from a named private host to another private target is
// re-checked and refused.
func TestPrivateHostsRedirectRechecked(t *testing.T) {
	named, _ := ParsePrivateHosts([]string{"pds.internal"})
	c := New(Options{PrivateHosts: named})
	via := []*http.Request{httptest.NewRequest(http.MethodGet, "https://pds.internal/", nil)}
	if err := c.CheckRedirect(httptest.NewRequest(http.MethodGet, "https://10.0.0.1/", nil), via); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("redirect to an unlisted private address: err = %v", err)
	}
	if err := c.CheckRedirect(httptest.NewRequest(http.MethodGet, "https://pds.internal/next", nil), via); err != nil {
		t.Errorf("redirect within the named host: %v", err)
	}
}
