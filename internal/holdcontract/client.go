package holdcontract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/schema"
)

// maxReply bounds what the suite reads of one answer: the blobs it fetches
// back are a few MiB.
const maxReply = 64 << 20

// client speaks to the target as its writer.
type client struct {
	target Target
	http   *http.Client
}

func newClient(target Target) *client {
	hc := &http.Client{Timeout: time.Minute}
	if target.HTTP != nil {
		own := *target.HTTP
		hc = &own
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{target: target, http: hc}
}

// reply is one answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string {
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body))
}

// errorName is the XRPC error name in the body, "" when there is none.
func (r reply) errorName() string {
	var body struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	return body.Error
}

// send makes one HTTP request to any URL.
func (c *client) send(t *testing.T, method, rawURL string, header http.Header, body []byte) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, rawURL, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// call sends an XRPC request to the target with the Authorization header
// authz ("" sends none). A 200 JSON answer must match the method's output
// lexicon.
func (c *client) call(t *testing.T, method string, nsid syntax.NSID, query url.Values, authz string, contentType string, body []byte) reply {
	t.Helper()
	u := c.target.URL + "/xrpc/" + nsid.String()
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	header := http.Header{}
	if authz != "" {
		header.Set("Authorization", authz)
	}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	r := c.send(t, method, u, header, body)
	if r.status == http.StatusOK && len(bytes.TrimSpace(r.body)) > 0 {
		var out map[string]any
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Errorf("%s answered 200 with a body that is not a JSON object: %v\n%s", nsid, err, r.body)
		} else if err := schema.ValidateOutput(nsid.String(), out); err != nil {
			t.Errorf("%s answer does not match its lexicon: %v\n%s", nsid, err, r.body)
		}
	}
	return r
}

// token is the Authorization header of a call by the writer to nsid.
func (c *client) token(t *testing.T, nsid syntax.NSID) string {
	t.Helper()
	return c.target.Authorization(t, c.target.Writer, nsid)
}

// procedure POSTs in as JSON to nsid, as the writer.
func (c *client) procedure(t *testing.T, nsid syntax.NSID, in any) reply {
	t.Helper()
	return c.procedureAs(t, c.target.Writer, nsid, in)
}

// procedureAs POSTs in as JSON to nsid, as caller.
func (c *client) procedureAs(t *testing.T, caller syntax.DID, nsid syntax.NSID, in any) reply {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("encode %s input: %v", nsid, err)
	}
	return c.call(t, http.MethodPost, nsid, nil, c.target.Authorization(t, caller, nsid), "application/json", body)
}

// wantOK stops the test unless r is a 200, and decodes its body into out
// when out is not nil.
func wantOK(t *testing.T, what string, r reply, out any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: %s, want 200", what, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s: decode %s: %v", what, r.body, err)
		}
	}
}

// wantError fails the test unless r has the status and XRPC error name.
func wantError(t *testing.T, what string, r reply, status int, name string) {
	t.Helper()
	if r.status != status || r.errorName() != name {
		t.Errorf("%s: %s, want %d %s", what, r, status, name)
	}
}
