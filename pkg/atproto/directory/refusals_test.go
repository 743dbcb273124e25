package directory

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/atproto/safehttp"
)

// refusingTransport stands in for the guarded client's dialer: it refuses
// every request the way safehttp does for a private address, and records
// the hosts it was asked for.
type refusingTransport struct {
	mu    sync.Mutex
	hosts []string
}

func (r *refusingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	return nil, fmt.Errorf("dial tcp 10.0.0.1:443: %w: private address", safehttp.ErrForbiddenAddress)
}

func (r *refusingTransport) asked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hosts...)
}

func refusingDirectory(t *testing.T, localDev bool) (identity.Directory, *refusingTransport) {
	t.Helper()
	rt := &refusingTransport{}
	plc := "https://plc.example.com"
	if localDev {
		plc = "http://127.0.0.1:2582"
	}
	dir, err := New(Options{PLCURL: plc, HTTPClient: &http.Client{Transport: rt}, InsecureLocalDev: localDev})
	if err != nil {
		t.Fatal(err)
	}
	return dir, rt
}

// A DID no resolver here would fetch is "not found" at once: nothing is
// asked, and callers answer 401/404 instead of 502 and Retry-After.
func TestUnresolvableDIDsAreNotFound(t *testing.T) {
	dir, rt := refusingDirectory(t, false)
	for _, did := range []string{
		"did:web:169.254.169.254",
		"did:web:10.0.0.1",
		"did:web:example.local",
		"did:web:printer.internal",
		"did:web:example.com%3A8443", // a port: local development only
		"did:web:127.0.0.1%3A8080",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"did:example:123456",
	} {
		_, err := ResolveIdentity(t.Context(), dir, did)
		if !errors.Is(err, identity.ErrDIDNotFound) {
			t.Errorf("%s: err = %v, want ErrDIDNotFound", did, err)
		}
	}
	if hosts := rt.asked(); len(hosts) != 0 {
		t.Errorf("fetched %v for DIDs that name no resolvable host", hosts)
	}

	// Local development still resolves did:web on a loopback host:port.
	local, lrt := refusingDirectory(t, true)
	_, _ = ResolveIdentity(t.Context(), local, "did:web:127.0.0.1%3A8080")
	if hosts := lrt.asked(); len(hosts) != 1 || hosts[0] != "127.0.0.1:8080" {
		t.Errorf("local development fetched %v, want [127.0.0.1:8080]", hosts)
	}
}

// A host an identity names that the guarded client refuses is "not
// found"; the PLC directory refused stays an outage (TestDefaultClient-
// RefusesPrivatePLC).
func TestRefusedIdentityHostIsNotFound(t *testing.T) {
	dir, rt := refusingDirectory(t, false)

	_, err := ResolveIdentity(t.Context(), dir, "did:web:pds.example.com")
	if !errors.Is(err, identity.ErrDIDNotFound) || !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Errorf("did:web on a refused host: err = %v, want ErrDIDNotFound wrapping ErrForbiddenAddress", err)
	}
	// bsky.social handles resolve only over the https well-known (no DNS).
	_, err = ResolveIdentity(t.Context(), dir, "alice.bsky.social")
	if !errors.Is(err, identity.ErrHandleNotFound) {
		t.Errorf("handle on a refused host: err = %v, want ErrHandleNotFound", err)
	}
	_, err = ResolveIdentity(t.Context(), dir, aliceDID.String())
	if errors.Is(err, identity.ErrDIDNotFound) || !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Errorf("refused PLC: err = %v, want ErrForbiddenAddress and not ErrDIDNotFound", err)
	}
	want := []string{"pds.example.com", "alice.bsky.social", "plc.example.com"}
	if hosts := rt.asked(); fmt.Sprint(hosts) != fmt.Sprint(want) {
		t.Errorf("asked %v, want %v", hosts, want)
	}
}

// notFoundTransport answers every request 404.
type notFoundTransport struct{}

func (notFoundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusNotFound, Status: "404 Not Found", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req,
	}, nil
}

// A bsky.social handle resolves only over the https well-known; when that
// answers 404 the handle does not exist. indigo's ResolveHandle drops that
// error (no DNS error to prefer it to) and returns no DID and no error,
// which left "DID method not supported" — a 502 for a mistyped login.
func TestMissingWellKnownOnlyHandleIsNotFound(t *testing.T) {
	for _, localDev := range []bool{false, true} {
		plc := "https://plc.example.com"
		if localDev {
			plc = "http://127.0.0.1:2582"
		}
		dir, err := New(Options{PLCURL: plc, HTTPClient: &http.Client{Transport: notFoundTransport{}}, InsecureLocalDev: localDev})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ResolveIdentity(t.Context(), dir, "nobody.bsky.social")
		if !errors.Is(err, identity.ErrHandleNotFound) {
			t.Errorf("local development %v: err = %v, want ErrHandleNotFound", localDev, err)
		}
	}
}
