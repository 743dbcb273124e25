//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/serviceauth"
)

// user is a did:web identity served on a loopback port, which the hold (in
// insecure_local_dev) resolves over plain http like a real user's DID. The
// same server is the user's PDS: it answers com.atproto.repo.getRecord for
// the records published with publish.
type user struct {
	did     syntax.DID
	key     atcrypto.PrivateKey
	records *sync.Map // "<collection>/<rkey>" → record value
}

// publish makes the user's PDS serve value at the AT-URI uri.
func (u user) publish(t *testing.T, uri string, value any) {
	t.Helper()
	parsed, err := syntax.ParseATURI(uri)
	if err != nil || parsed.Authority().String() != u.did.String() {
		t.Fatalf("publish %s: not a record of %s (%v)", uri, u.did, err)
	}
	u.records.Store(parsed.Collection().String()+"/"+parsed.RecordKey().String(), value)
}

func newUser(t *testing.T) user {
	t.Helper()
	key, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	did := syntax.DID(fmt.Sprintf("did:web:127.0.0.1%%3A%d", port))
	doc := map[string]any{
		"@context": []string{"https://www.w3.org/ns/did/v1"},
		"id":       did,
		"verificationMethod": []map[string]string{{
			"id": did.String() + "#atproto", "type": "Multikey", "controller": did.String(), "publicKeyMultibase": pub.Multibase(),
		}},
		"service": []map[string]string{{
			"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": fmt.Sprintf("http://127.0.0.1:%d", port),
		}},
	}
	records := &sync.Map{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/did.json":
			_ = json.NewEncoder(w).Encode(doc)
		case "/xrpc/com.atproto.repo.getRecord":
			q := r.URL.Query()
			v, ok := records.Load(q.Get("collection") + "/" + q.Get("rkey"))
			w.Header().Set("Content-Type", "application/json")
			if q.Get("repo") != did.String() || !ok {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"RecordNotFound","message":"Could not locate record"}`))
				return
			}
			uri := "at://" + did.String() + "/" + q.Get("collection") + "/" + q.Get("rkey")
			_ = json.NewEncoder(w).Encode(map[string]any{"uri": uri, "value": v})
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return user{did: did, key: key, records: records}
}

// call sends an XRPC request with a service token from u for the method (no
// token for the zero user) and returns the status and decoded body.
func (h *holdProc) call(u user, method, nsid, query, body string) (int, map[string]any) {
	h.t.Helper()
	status, out, _ := h.send(u, method, nsid, query, body, "")
	return status, out
}

// callFrom POSTs to nsid as u with X-Forwarded-For xff and returns the
// status, body and Retry-After.
func (h *holdProc) callFrom(u user, xff, nsid string) (int, map[string]any, string) {
	h.t.Helper()
	status, out, header := h.send(u, http.MethodPost, nsid, "", "", xff)
	return status, out, header.Get("Retry-After")
}

// send is call with an optional X-Forwarded-For, returning the headers too.
func (h *holdProc) send(u user, method, nsid, query, body, xff string) (int, map[string]any, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+"/xrpc/"+nsid+query, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if u.did != "" {
		tok, err := serviceauth.Mint(u.key, u.did, syntax.DID(h.did()), nsid, time.Minute)
		if err != nil {
			h.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(bytes.TrimSpace(raw), &out)
	return resp.StatusCode, out, resp.Header
}

// The wired hold verifies real service tokens (DID document fetched through
// the identity directory) and routes crew, quota and upload methods.
func TestServeXRPCWiring(t *testing.T) {
	alice := newUser(t)
	port := freePort(t)
	h := startHold(t, holdConfig(t, port, t.TempDir(), "  allow_all_crew: true\n"), port)

	status, out := h.call(user{}, "POST", "io.atcr.hold.requestCrew", "", "")
	if status != 401 || out["error"] != "AuthRequired" {
		t.Errorf("anonymous requestCrew: %d %v", status, out)
	}
	status, out = h.call(alice, "POST", "io.atcr.hold.requestCrew", "", "")
	if status != 200 || out["status"] != "created" {
		t.Fatalf("requestCrew: %d %v\n%s", status, out, h.stderr)
	}
	if got := h.records("io.atcr.hold.crew"); len(got) != 2 {
		t.Errorf("crew after join: %v, want owner and alice", got)
	}
	status, out = h.call(alice, "GET", "io.atcr.hold.getQuota", "?userDid="+url.QueryEscape(alice.did.String()), "")
	if status != 200 || out["used"] != float64(0) || out["limit"] != nil {
		t.Errorf("getQuota: %d %v", status, out)
	}
	status, out = h.call(alice, "POST", "io.atcr.hold.initiateUpload", "", "{}")
	if status != 200 || out["uploadId"] == nil {
		t.Errorf("initiateUpload: %d %v", status, out)
	}
	status, out = h.call(user{}, "GET", "com.atproto.sync.getBlob",
		"?did="+url.QueryEscape(h.did())+"&cid=sha256:"+strings.Repeat("0", 64), "")
	if status != 401 {
		t.Errorf("anonymous getBlob on a private hold: %d %v", status, out)
	}
	status, out = h.call(alice, "GET", "com.atproto.sync.getBlob",
		"?did="+url.QueryEscape(h.did())+"&cid=sha256:"+strings.Repeat("0", 64), "")
	if status != 404 || out["error"] != "BlobNotFound" {
		t.Errorf("crew getBlob of a missing blob: %d %v", status, out)
	}
	if status, out := h.call(user{}, "GET", "io.atcr.hold.listTiers", "", ""); status != 200 || out["tiers"] == nil {
		t.Errorf("listTiers: %d %v", status, out)
	}
	digest := "sha256:" + strings.Repeat("0", 64)
	if status, out := h.call(user{}, "GET", "io.atcr.hold.getScanStatus", "?digest="+digest, ""); status != 200 || out["state"] != "none" || out["digest"] != digest {
		t.Errorf("anonymous getScanStatus: %d %v", status, out)
	}
	if status, out := h.call(user{}, "GET", "io.atcr.hold.getScanStatus", "?digest=sha256:zz", ""); status != 400 || out["error"] != "InvalidRequest" {
		t.Errorf("getScanStatus with a bad digest: %d %v", status, out)
	}
	h.stop()
}
