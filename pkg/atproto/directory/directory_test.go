package directory

import (
	"errors"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/atproto/safehttp"
)

// The production path: https PLC, guarded client. Private addresses are
// allowed here only because the fake PLC listens on 127.0.0.1, as in the
// e2e stack (identity.allow_private_networks).
func TestPLCLookupIsCached(t *testing.T) {
	plc := newDocServer(t, true)
	doc, pub := didDoc(t, aliceDID, "", "https://pds.example.com")
	plc.put("/"+aliceDID.String(), doc)

	dir, err := New(Options{
		PLCURL:     plc.URL,
		HTTPClient: safehttp.New(safehttp.Options{AllowPrivateNetworks: true, RootCAs: plc.pool()}),
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ident, err := ResolveIdentity(t.Context(), dir, aliceDID.String())
		if err != nil {
			t.Fatal(err)
		}
		if ident.DID != aliceDID || !ident.Handle.IsInvalidHandle() {
			t.Fatalf("identity = %s / %s", ident.DID, ident.Handle)
		}
		pds, err := PDSEndpoint(ident)
		if err != nil || pds != "https://pds.example.com" {
			t.Fatalf("PDSEndpoint = %q, %v", pds, err)
		}
		key, err := ident.PublicKey()
		if err != nil || !key.Equal(pub) {
			t.Fatalf("PublicKey = %v, %v", key, err)
		}
	}
	if n := plc.requests.Load(); n != 1 {
		t.Errorf("PLC requests = %d, want 1 (cache hits after the first)", n)
	}
}

func TestUnknownDIDErrorIsCached(t *testing.T) {
	plc := newDocServer(t, true)
	dir, err := New(Options{
		PLCURL:     plc.URL,
		HTTPClient: safehttp.New(safehttp.Options{AllowPrivateNetworks: true, RootCAs: plc.pool()}),
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := ResolveIdentity(t.Context(), dir, bobDID.String())
		if !errors.Is(err, identity.ErrDIDNotFound) {
			t.Fatalf("err = %v, want ErrDIDNotFound", err)
		}
	}
	if n := plc.requests.Load(); n != 1 {
		t.Errorf("PLC requests = %d, want 1", n)
	}
}

// Without AllowPrivateNetworks the production client refuses the loopback
// PLC: the directory really goes through the guarded client.
func TestDefaultClientRefusesPrivatePLC(t *testing.T) {
	plc := newDocServer(t, true)
	doc, _ := didDoc(t, aliceDID, "", "https://pds.example.com")
	plc.put("/"+aliceDID.String(), doc)
	dir, err := New(Options{PLCURL: plc.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ResolveIdentity(t.Context(), dir, aliceDID.String())
	if !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Fatalf("err = %v, want safehttp.ErrForbiddenAddress", err)
	}
	if n := plc.requests.Load(); n != 0 {
		t.Errorf("PLC saw %d requests", n)
	}
}

// Outside InsecureLocalDev a did:web on host:port is refused before any
// fetch, even with a client that would allow http to loopback.
func TestProductionRefusesHTTPDIDWeb(t *testing.T) {
	host := newDocServer(t, false)
	did := host.hostDID("127.0.0.1")
	doc, _ := didDoc(t, did, "", "http://127.0.0.1:1")
	host.put("/.well-known/did.json", doc)

	dir, err := New(Options{
		HTTPClient: safehttp.New(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveIdentity(t.Context(), dir, did.String()); err == nil {
		t.Fatal("did:web over http resolved without InsecureLocalDev")
	}
	if n := host.requests.Load(); n != 0 {
		t.Errorf("did:web host saw %d requests", n)
	}
}

func TestNewRefusesLocalDevSettings(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr error
	}{
		{"resolver without switch", Options{HandleResolverURL: "http://127.0.0.1:2583"}, ErrLocalDevOnly},
		{"http PLC without switch", Options{PLCURL: "http://127.0.0.1:2582"}, ErrLocalDevOnly},
		{"remote resolver", Options{InsecureLocalDev: true, HandleResolverURL: "https://pds.example.com"}, ErrInvalidOptions},
		{"http PLC to a remote host", Options{InsecureLocalDev: true, PLCURL: "http://plc.example.com"}, ErrInvalidOptions},
		{"PLC with a path", Options{PLCURL: "https://plc.example.com/v1"}, ErrInvalidOptions},
		{"PLC with a query", Options{PLCURL: "https://plc.example.com?x=1"}, ErrInvalidOptions},
		{"PLC ftp", Options{PLCURL: "ftp://plc.example.com"}, ErrInvalidOptions},
		{"resolver with userinfo", Options{InsecureLocalDev: true, HandleResolverURL: "http://u:p@127.0.0.1:2583"}, ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); !errors.Is(err, tc.wantErr) {
				t.Fatalf("New = %v, want %v", err, tc.wantErr)
			}
		})
	}
	for _, ok := range []Options{
		{},
		{PLCURL: "https://plc.test/"},
		{InsecureLocalDev: true, PLCURL: "http://127.0.0.1:2582", HandleResolverURL: "http://localhost:2583/"},
		{InsecureLocalDev: true, PLCURL: "http://[::1]:2582"},
	} {
		if _, err := New(ok); err != nil {
			t.Errorf("New(%+v) = %v", ok, err)
		}
	}
}

func TestCheckPLCURLNormalises(t *testing.T) {
	for in, want := range map[string]string{
		"":                       identity.DefaultPLCURL,
		"https://plc.test/":      "https://plc.test",
		"https://plc.test:8443":  "https://plc.test:8443",
		"http://127.0.0.1:2582/": "http://127.0.0.1:2582",
	} {
		got, err := checkPLCURL(in, true)
		if err != nil || got != want {
			t.Errorf("checkPLCURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestResolveIdentityRejectsGarbage(t *testing.T) {
	dir := identity.NewMockDirectory()
	for _, s := range []string{"", "not a handle", "did:", "https://evil.example/"} {
		if _, err := ResolveIdentity(t.Context(), dir, s); !errors.Is(err, ErrInvalidIdentifier) {
			t.Errorf("ResolveIdentity(%q) = %v, want ErrInvalidIdentifier", s, err)
		}
	}
}

func TestPDSEndpoint(t *testing.T) {
	tests := []struct {
		endpoint string
		want     string // empty: ErrNoPDS
	}{
		{"https://pds.example.com", "https://pds.example.com"},
		{"https://pds.example.com/", "https://pds.example.com"},
		{"http://127.0.0.1:2583", "http://127.0.0.1:2583"},
		{"", ""},
		{"ftp://pds.example.com", ""},
		{"https://user:pw@pds.example.com", ""},
		{"https://pds.example.com/?x=1", ""},
		{"https://", ""},
	}
	for _, tc := range tests {
		ident := &identity.Identity{DID: aliceDID}
		if tc.endpoint != "" {
			ident.Services = map[string]identity.ServiceEndpoint{
				"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: tc.endpoint},
			}
		}
		got, err := PDSEndpoint(ident)
		if tc.want == "" {
			if !errors.Is(err, ErrNoPDS) {
				t.Errorf("PDSEndpoint(%q) = %q, %v; want ErrNoPDS", tc.endpoint, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PDSEndpoint(%q) = %q, %v; want %q", tc.endpoint, got, err, tc.want)
		}
	}
}
