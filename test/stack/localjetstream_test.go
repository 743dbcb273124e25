//go:build stack

package stack

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/gorilla/websocket"
)

// localJetstreamURL is where make run's Jetstream listens (run.sh).
const localJetstreamURL = "ws://127.0.0.1:6008"

// appviewJetstream is what the AppView's GET /health says of its Jetstream
// consumer (cmd/appview: healthStatus); nil when the consumer is off.
type appviewJetstream struct {
	Connected bool
	Commits   int64
}

func appviewHealth(t *testing.T, appview string) *appviewJetstream {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(appview + "/health")
	if err != nil {
		t.Fatalf("GET %s/health: %v", appview, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string            `json:"status"`
		Jetstream *appviewJetstream `json:"jetstream"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s/health: %v", appview, err)
	}
	return body.Jetstream
}

// checkLocalJetstream: the local stack runs Jetstream, the AppView's
// consumer is connected to it (jetstream.url in run.sh's appview.yaml), and
// a record alice writes straight to her PDS reaches the AppView through it.
func checkLocalJetstream(t *testing.T, env map[string]string) {
	t.Helper()
	if env["ATCR_JETSTREAM_URL"] != localJetstreamURL {
		t.Fatalf("stack.env ATCR_JETSTREAM_URL = %q, want %q", env["ATCR_JETSTREAM_URL"], localJetstreamURL)
	}
	c, _, err := (&websocket.Dialer{HandshakeTimeout: 5 * time.Second}).Dial(localJetstreamURL+"/subscribe?wantedCollections=io.atcr.*", nil)
	if err != nil {
		t.Fatalf("Jetstream at %s: %v", localJetstreamURL, err)
	}
	c.Close()

	appview := "http://" + env["ATCR_REGISTRY"]
	// The consumer connects in the background after the AppView answers.
	var js *appviewJetstream
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if js = appviewHealth(t, appview); js != nil && js.Connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AppView's /health shows no connected Jetstream consumer: %+v", js)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, err := atclient.LoginWithPasswordHost(ctx, env["ATCR_PDS_URL"], env["ATCR_USERNAME"], env["ATCR_PASSWORD"], "", nil)
	if err != nil {
		t.Fatalf("app-password login as %s: %v", env["ATCR_USERNAME"], err)
	}
	star := map[string]any{
		"$type":     "io.atcr.sailor.star",
		"subject":   "at://" + env["ATCR_DID2"] + "/io.atcr.repo.page/lifecycle",
		"createdAt": syntax.DatetimeNow().String(),
	}
	if err := alice.Post(ctx, "com.atproto.repo.createRecord", map[string]any{
		"repo": env["ATCR_DID"], "collection": "io.atcr.sailor.star", "record": star,
	}, nil); err != nil {
		t.Fatalf("createRecord io.atcr.sailor.star as alice: %v", err)
	}
	before := js.Commits
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if js = appviewHealth(t, appview); js != nil && js.Commits > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's createRecord did not reach the AppView through Jetstream: /health %+v (commits before %d)", js, before)
		}
	}
}
