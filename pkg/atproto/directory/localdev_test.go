package directory

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/safehttp"
)

// localStack is a laptop stack: http PLC, a hold with a loopback did:web, a
// PDS that resolves handles.
type localStack struct {
	plc, hold *docServer
	resolver  *handleResolver
	holdDID   syntax.DID
	dir       identity.Directory
}

func newLocalStack(t *testing.T, holdHost string) *localStack {
	t.Helper()
	s := &localStack{plc: newDocServer(t, false), hold: newDocServer(t, false)}
	s.holdDID = s.hold.hostDID(holdHost)

	alice, _ := didDoc(t, aliceDID, "alice.test", "http://127.0.0.1:2583")
	s.plc.put("/"+aliceDID.String(), alice)
	holdDoc, _ := didDoc(t, s.holdDID, "", s.hold.URL)
	s.hold.put("/.well-known/did.json", holdDoc)

	s.resolver = newHandleResolver(t, map[string]syntax.DID{
		"alice.test":   aliceDID,
		"mallory.test": aliceDID, // claims alice's DID; alice's document disagrees
	})
	dir, err := New(Options{
		PLCURL:            s.plc.URL,
		HTTPClient:        localClient(),
		InsecureLocalDev:  true,
		HandleResolverURL: s.resolver.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	return s
}

// localClient is what insecure_local_dev configures.
func localClient() *http.Client {
	return safehttp.New(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true})
}

func TestLocalDevHandleResolution(t *testing.T) {
	s := newLocalStack(t, "127.0.0.1")
	for range 3 {
		ident, err := ResolveIdentity(t.Context(), s.dir, "Alice.Test")
		if err != nil {
			t.Fatal(err)
		}
		if ident.DID != aliceDID || ident.Handle != "alice.test" {
			t.Fatalf("identity = %s / %s", ident.DID, ident.Handle)
		}
	}
	if n := s.resolver.requests.Load(); n != 1 {
		t.Errorf("resolver requests = %d, want 1", n)
	}
	if n := s.plc.requests.Load(); n != 1 {
		t.Errorf("PLC requests = %d, want 1", n)
	}

	// A DID lookup verifies the declared handle through the same resolver
	// and is served from the cache the handle lookup filled.
	ident, err := ResolveIdentity(t.Context(), s.dir, aliceDID.String())
	if err != nil || ident.Handle != "alice.test" {
		t.Fatalf("LookupDID = %v, %v", ident, err)
	}
	if n := s.plc.requests.Load(); n != 1 {
		t.Errorf("PLC requests after DID lookup = %d, want 1", n)
	}
}

func TestLocalDevHandleMismatch(t *testing.T) {
	s := newLocalStack(t, "127.0.0.1")
	_, err := ResolveIdentity(t.Context(), s.dir, "mallory.test")
	if !errors.Is(err, identity.ErrHandleMismatch) {
		t.Fatalf("err = %v, want ErrHandleMismatch", err)
	}
}

func TestLocalDevUnknownHandle(t *testing.T) {
	s := newLocalStack(t, "127.0.0.1")
	_, err := ResolveIdentity(t.Context(), s.dir, "nobody.test")
	if !errors.Is(err, identity.ErrHandleNotFound) {
		t.Fatalf("err = %v, want ErrHandleNotFound", err)
	}
}

func TestLocalDevDIDWebOverHTTP(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			s := newLocalStack(t, host)
			for range 2 {
				ident, err := ResolveIdentity(t.Context(), s.dir, s.holdDID.String())
				if err != nil {
					t.Fatal(err)
				}
				pds, err := PDSEndpoint(ident)
				if err != nil || pds != s.hold.URL {
					t.Fatalf("PDSEndpoint = %q, %v; want %q", pds, err, s.hold.URL)
				}
			}
			if n := s.hold.requests.Load(); n != 1 {
				t.Errorf("did:web requests = %d, want 1", n)
			}
		})
	}
}

// A document served for a different DID is not accepted.
func TestLocalDevDIDWebIDMismatch(t *testing.T) {
	s := newLocalStack(t, "127.0.0.1")
	other, _ := didDoc(t, "did:web:elsewhere.test", "", s.hold.URL)
	s.hold.put("/.well-known/did.json", other)
	_, err := ResolveIdentity(t.Context(), s.dir, s.holdDID.String())
	if !errors.Is(err, identity.ErrDIDResolutionFailed) {
		t.Fatalf("err = %v, want ErrDIDResolutionFailed", err)
	}
}

func TestLoopbackDIDWebURL(t *testing.T) {
	tests := []struct {
		did  string
		want string // empty: not handled by the local-dev path
	}{
		{"did:web:127.0.0.1%3A8080", "http://127.0.0.1:8080/.well-known/did.json"},
		{"did:web:localhost%3A8080", "http://localhost:8080/.well-known/did.json"},
		{"did:web:localhost", "http://localhost/.well-known/did.json"},
		{"did:web:hold.test", ""},
		{"did:web:10.0.0.1%3A8080", ""},
		{"did:web:localhost.evil.com%3A80", ""},
		{"did:web:127.0.0.1%3A8080:path", ""},
		{"did:web:127.0.0.1%3A99999", ""},
		{"did:web:127.0.0.1%3Ax", ""},
		{"did:plc:alicealicealicealicealic", ""},
	}
	for _, tc := range tests {
		got, ok := loopbackDIDWebURL(syntax.DID(tc.did))
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("loopbackDIDWebURL(%s) = %q, %v; want %q", tc.did, got, ok, tc.want)
		}
	}
}

// The uncached directory verifies on its own; the cache in front of it
// checks again, so the test above would pass even if this layer did not.
func TestVerifyingDirectoryHandleMismatch(t *testing.T) {
	s := newLocalStack(t, "127.0.0.1")
	d := &verifyingDirectory{res: &localDevResolver{
		base:              &identity.BaseDirectory{PLCURL: s.plc.URL, HTTPClient: *localClient()},
		client:            localClient(),
		handleResolverURL: s.resolver.URL,
	}}

	if _, err := d.LookupHandle(t.Context(), "mallory.test"); !errors.Is(err, identity.ErrHandleMismatch) {
		t.Fatalf("LookupHandle(mallory.test) = %v, want ErrHandleMismatch", err)
	}
	ident, err := d.LookupHandle(t.Context(), "alice.test")
	if err != nil || ident.Handle != "alice.test" {
		t.Fatalf("LookupHandle(alice.test) = %v, %v", ident, err)
	}
	// The DID's declared handle is verified through the resolver; when the
	// resolver does not know it, the handle is handle.invalid.
	s.resolver.remove("alice.test")
	ident, err = d.LookupDID(t.Context(), aliceDID)
	if err != nil || !ident.Handle.IsInvalidHandle() {
		t.Fatalf("LookupDID with unverifiable handle = %v, %v", ident, err)
	}
}
