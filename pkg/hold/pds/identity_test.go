package pds

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/repo"
	blocks "github.com/ipfs/go-block-format"
)

func TestDIDFromPublicURL(t *testing.T) {
	cases := []struct {
		url, did, handle string
	}{
		{"https://hold01.atcr.io", "did:web:hold01.atcr.io", "hold01.atcr.io"},
		{"https://Hold.Example.com/", "did:web:hold.example.com", "hold.example.com"},
		{"http://127.0.0.1:8080", "did:web:127.0.0.1%3A8080", "127.0.0.1"},
	}
	for _, tc := range cases {
		p := openTestPDS(t, "", func(o *Options) { o.PublicURL = tc.url })
		if p.DID().String() != tc.did || p.Handle() != tc.handle {
			t.Errorf("%s: did %s handle %s, want %s %s", tc.url, p.DID(), p.Handle(), tc.did, tc.handle)
		}
	}
	for _, bad := range []string{"", "ftp://x.com", "https://x.com/path", "https://x.com?q=1", "https://[::1]:80", "https://u:p@x.com"} {
		if _, err := Open(context.Background(), Options{DataDir: t.TempDir(), PublicURL: bad}); err == nil {
			t.Errorf("Open accepted public URL %q", bad)
		}
	}
}

func TestSigningKeyPersisted(t *testing.T) {
	dir := t.TempDir()
	p := openTestPDS(t, dir)
	fi, err := os.Stat(filepath.Join(dir, keyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(matches) != 0 {
		t.Errorf("temp files left behind: %v", matches)
	}
	key := p.PublicKey().Multibase()
	p.Close()
	if q := openTestPDS(t, dir); q.PublicKey().Multibase() != key {
		t.Error("key not reloaded on restart")
	}
	if err := os.WriteFile(filepath.Join(dir, keyFileName), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), Options{DataDir: dir, PublicURL: testURL, Logger: quietLogger()}); err == nil {
		t.Error("Open accepted a corrupt signing key")
	}
}

// resolvingClient returns an HTTP client that dials srv for every address and
// trusts its certificate: did:web resolution of https://hold.example.com
// reaches the test server over real TLS.
func resolvingClient(srv *httptest.Server) http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	tr.TLSClientConfig.MinVersion = tls.VersionTLS12
	return http.Client{Transport: tr}
}

func TestDIDDocumentResolvesOverTLS(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	mustPut(t, p, crewNSID, "alice", crewRecord("did:plc:alice"))
	srv := httptest.NewTLSServer(routerOf(NewHandlers(p)))
	defer srv.Close()

	dir := &identity.BaseDirectory{HTTPClient: resolvingClient(srv), SkipHandleVerification: true}
	ident, err := dir.LookupDID(ctx, p.DID())
	if err != nil {
		t.Fatalf("LookupDID over TLS: %v", err)
	}
	if ident.PDSEndpoint() != testURL {
		t.Errorf("PDS endpoint = %q, want %q", ident.PDSEndpoint(), testURL)
	}
	if svc, ok := ident.Services["atcr_hold"]; !ok || svc.URL != testURL || svc.Type != "AtcrHoldService" {
		t.Errorf("atcr_hold service = %+v", ident.Services)
	}
	if h, err := ident.DeclaredHandle(); err != nil || h.String() != "hold.example.com" {
		t.Errorf("declared handle = %s, %v", h, err)
	}

	// getRepo over the same server verifies against the resolved document.
	client := resolvingClient(srv)
	resp, err := client.Get(testURL + "/xrpc/com.atproto.sync.getRepo?did=" + p.DID().String())
	if err != nil {
		t.Fatal(err)
	}
	carBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != carContentType {
		t.Fatalf("getRepo: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := repo.VerifyCommitSignatureFromCar(ctx, dir, carBytes); err != nil {
		t.Errorf("VerifyCommitSignatureFromCar via BaseDirectory: %v", err)
	}
	// Negative control: a flipped byte in the commit signature must fail.
	if _, err := repo.VerifyCommitSignatureFromCar(ctx, dir, tamperCommitSig(t, carBytes)); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("tampered signature: err = %v, want a signature failure", err)
	}

	resp, err = client.Get(testURL + "/.well-known/atproto-did")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != p.DID().String() {
		t.Errorf("atproto-did = %q", body)
	}

	resp, err = client.Get(testURL + "/.well-known/did.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if aka := doc["alsoKnownAs"].([]any); len(aka) != 1 || aka[0] != "at://hold.example.com" {
		t.Errorf("alsoKnownAs = %v", doc["alsoKnownAs"])
	}
}

// tamperCommitSig rewrites the CAR with one bit of the commit signature flipped.
func tamperCommitSig(t *testing.T, carBytes []byte) []byte {
	t.Helper()
	commit, _, err := repo.LoadCommitFromCAR(context.Background(), bytes.NewReader(carBytes))
	if err != nil {
		t.Fatal(err)
	}
	commit.Sig[0] ^= 1
	var buf bytes.Buffer
	if err := commit.MarshalCBOR(&buf); err != nil {
		t.Fatal(err)
	}
	c, _ := cborCID.Sum(buf.Bytes())
	blk, err := blocks.NewBlockWithCid(buf.Bytes(), c)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeCAR(&out, c, append([]blocks.Block{blk}, carBlocks(t, carBytes)...)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
