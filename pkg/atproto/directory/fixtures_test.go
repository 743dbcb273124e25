package directory

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

const (
	aliceDID = syntax.DID("did:plc:alicealicealicealicealic")
	bobDID   = syntax.DID("did:plc:bobbobbobbobbobbobbobbob")
)

// didDoc is a DID document as the PLC directory and did:web hosts serve it.
func didDoc(t *testing.T, did syntax.DID, handle, pds string) (map[string]any, atcrypto.PublicKey) {
	t.Helper()
	priv, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"@context": []string{"https://www.w3.org/ns/did/v1"},
		"id":       did.String(),
		"verificationMethod": []map[string]string{{
			"id":                 did.String() + "#atproto",
			"type":               "Multikey",
			"controller":         did.String(),
			"publicKeyMultibase": pub.Multibase(),
		}},
		"service": []map[string]string{{
			"id":              "#atproto_pds",
			"type":            "AtprotoPersonalDataServer",
			"serviceEndpoint": pds,
		}},
	}
	if handle != "" {
		doc["alsoKnownAs"] = []string{"at://" + handle}
	}
	return doc, pub
}

// docServer serves DID documents and counts requests: a fake PLC directory
// (GET /<did>) and a fake did:web host (GET /.well-known/did.json) in one.
type docServer struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	docs     map[string]map[string]any // by PLC path "/did:plc:…" or "/.well-known/did.json"
}

func newDocServer(t *testing.T, useTLS bool) *docServer {
	t.Helper()
	s := &docServer{docs: map[string]map[string]any{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		doc, ok := s.docs[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	if useTLS {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *docServer) put(path string, doc map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = doc
}

func (s *docServer) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

// hostDID is the did:web for this server's 127.0.0.1:port.
func (s *docServer) hostDID(hostname string) syntax.DID {
	hostport := strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
	hostport = strings.Replace(hostport, "127.0.0.1", hostname, 1)
	return syntax.DID("did:web:" + strings.Replace(hostport, ":", "%3A", 1))
}

// handleResolver is a fake PDS answering com.atproto.identity.resolveHandle.
type handleResolver struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	handles  map[string]syntax.DID
}

func (hr *handleResolver) remove(handle string) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	delete(hr.handles, handle)
}

func newHandleResolver(t *testing.T, handles map[string]syntax.DID) *handleResolver {
	t.Helper()
	hr := &handleResolver{handles: handles}
	hr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hr.requests.Add(1)
		if r.URL.Path != "/xrpc/com.atproto.identity.resolveHandle" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		hr.mu.Lock()
		did, ok := hr.handles[r.URL.Query().Get("handle")]
		hr.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "HandleNotFound", "message": "Unable to resolve handle"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"did": did.String()})
	}))
	t.Cleanup(hr.Close)
	return hr
}
