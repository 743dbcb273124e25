//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/bluesky-social/indigo/events"
	"github.com/bluesky-social/indigo/events/schedulers/sequential"
	"github.com/gorilla/websocket"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-car"
	carutil "github.com/ipld/go-car/util"
	"github.com/multiformats/go-multihash"

	"atcr.io/pkg/atproto/atcr"
)

// holdMaxRepoCAR bounds the getRepo download; the test stack's repository is
// a few hundred KiB at most.
const holdMaxRepoCAR = 64 << 20

// com.atproto.sync.getRepo of did:web:hold.test is a valid signed repository
// to indigo: the CAR loads, the MST verifies, the captain record is in it, and
// the commit signature checks out against the #atproto key of the DID
// document that a real BaseDirectory fetches from https://hold.test (through
// Caddy). With one byte of the signature flipped, verification fails.
func TestHoldGetRepoVerifies(t *testing.T) {
	ctx := testContext(t)
	hold := holdPublic(t)
	carBytes := holdGetRepo(t, hold)

	if n := holdCheckBlockHashes(t, carBytes); n < 3 {
		t.Fatalf("getRepo CAR has %d blocks; want at least a commit, an MST node and the captain record", n)
	}
	commit, r, err := repo.LoadRepoFromCAR(ctx, bytes.NewReader(carBytes))
	if err != nil {
		t.Fatalf("LoadRepoFromCAR: %v", err)
	}
	if commit.DID != hold.DID {
		t.Fatalf("commit DID %s, want %s", commit.DID, hold.DID)
	}
	if err := r.MST.Verify(); err != nil {
		t.Fatalf("MST.Verify: %v", err)
	}
	if _, _, err := r.GetRecordBytes(ctx, syntax.NSID(atcr.HoldCaptainNSID), syntax.RecordKey("self")); err != nil {
		t.Fatalf("captain record %s/self in the repository: %v", atcr.HoldCaptainNSID, err)
	}

	dir := directory(t)
	verified, err := repo.VerifyCommitSignatureFromCar(ctx, dir, carBytes)
	if err != nil {
		t.Fatalf("VerifyCommitSignatureFromCar: %v", err)
	}
	if verified.Rev != commit.Rev {
		t.Errorf("verified commit rev %s, loaded %s", verified.Rev, commit.Rev)
	}

	tampered := holdTamperCommitSignature(t, carBytes)
	if _, _, err := repo.LoadRepoFromCAR(ctx, bytes.NewReader(tampered)); err != nil {
		t.Fatalf("the tampered CAR does not even load (%v): the control must fail on the signature alone", err)
	}
	if _, err := repo.VerifyCommitSignatureFromCar(ctx, dir, tampered); err == nil {
		t.Fatal("VerifyCommitSignatureFromCar accepted a commit whose signature has a flipped byte")
	}
}

// The firehose (wss://hold.test/xrpc/com.atproto.sync.subscribeRepos) delivers
// the commit that adds a new member's io.atcr.hold.crew record, and every
// commit it sends verifies with indigo (VerifyCommitMessage: records against
// the MST and the tree inverted back to prevData; VerifyCommitSignature
// against the DID document). The member is a fresh account, so the join is
// new on every run.
func TestHoldFirehoseCrewCommit(t *testing.T) {
	hold := holdPublic(t)
	carol := holdNewAccount(t, "carol")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// cursor=0 replays from the start and then goes live without a gap, so
	// the commit cannot slip by between the handshake and the subscription.
	wsURL := strings.Replace(hold.URL, "https://", "wss://", 1) + "/xrpc/com.atproto.sync.subscribeRepos?cursor=0"
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	resp.Body.Close()
	commits := make(chan *comatproto.SyncSubscribeRepos_Commit)
	callbacks := &events.RepoStreamCallbacks{
		RepoCommit: func(evt *comatproto.SyncSubscribeRepos_Commit) error {
			select {
			case commits <- evt:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	}
	streamDone := make(chan error, 1)
	go func() {
		streamDone <- events.HandleRepoStream(ctx, conn, sequential.NewScheduler("atcr-e2e-hold", callbacks.EventHandler), nil)
	}()
	defer func() {
		cancel()
		<-streamDone
	}()

	var joined atcr.HoldRequestCrew_Output
	hold.call(t, &carol, http.MethodPost, atcr.HoldRequestCrewNSID, nil, nil).decode(t, "requestCrew", &joined)
	if joined.Status != "created" {
		t.Fatalf("requestCrew of the new account %s: %+v, want created", carol.Handle, joined)
	}
	uri, err := syntax.ParseATURI(joined.URI)
	if err != nil {
		t.Fatalf("requestCrew uri %q: %v", joined.URI, err)
	}
	path := uri.Collection().String() + "/" + uri.RecordKey().String()
	if uri.Collection() != syntax.NSID(atcr.HoldCrewNSID) || uri.Authority().String() != hold.DID {
		t.Fatalf("requestCrew uri %s is not an %s record of %s", uri, atcr.HoldCrewNSID, hold.DID)
	}

	dir := directory(t)
	verifiedCount := 0
	for found := false; !found; {
		var evt *comatproto.SyncSubscribeRepos_Commit
		select {
		case evt = <-commits:
		case err := <-streamDone:
			streamDone <- err // for the deferred wait
			t.Fatalf("firehose ended after %d commits without the crew record %s: %v", verifiedCount, path, err)
		case <-ctx.Done():
			t.Fatalf("no commit with the crew record %s within the deadline (%d commits seen)", path, verifiedCount)
		}
		if evt.Repo != hold.DID {
			t.Fatalf("firehose commit of repo %s, want only %s", evt.Repo, hold.DID)
		}
		if _, err := repo.VerifyCommitMessage(ctx, evt); err != nil {
			t.Fatalf("VerifyCommitMessage of seq %d (rev %s): %v", evt.Seq, evt.Rev, err)
		}
		if err := repo.VerifyCommitSignature(ctx, dir, evt); err != nil {
			t.Fatalf("VerifyCommitSignature of seq %d: %v", evt.Seq, err)
		}
		verifiedCount++
		found = holdHasCreateOp(evt, path, joined.CID)
		if found && evt.PrevData == nil {
			t.Fatalf("the crew commit (seq %d) has no prevData: its MST inversion was not checked", evt.Seq)
		}
	}
	t.Logf("crew record %s arrived in a verified commit; %d commits verified", path, verifiedCount)

	var again atcr.HoldRequestCrew_Output
	hold.call(t, &carol, http.MethodPost, atcr.HoldRequestCrewNSID, nil, nil).decode(t, "requestCrew again", &again)
	if again.Status != "already_member" || again.URI != joined.URI {
		t.Fatalf("second requestCrew = %+v, want already_member with %s", again, joined.URI)
	}
}

// holdHasCreateOp reports whether evt creates the record at path with the CID.
func holdHasCreateOp(evt *comatproto.SyncSubscribeRepos_Commit, path, recordCID string) bool {
	for _, op := range evt.Ops {
		if op.Action == "create" && op.Path == path && op.Cid != nil && cid.Cid(*op.Cid).String() == recordCID {
			return true
		}
	}
	return false
}

// holdGetRepo downloads the hold's whole repository as a CAR.
func holdGetRepo(t *testing.T, hold holdTarget) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet,
		hold.xrpcURL("com.atproto.sync.getRepo", url.Values{"did": {hold.DID}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := holdHTTP.Do(req)
	if err != nil {
		t.Fatalf("getRepo: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, holdMaxRepoCAR+1))
	if err != nil {
		t.Fatalf("read getRepo: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("getRepo: %d %s", resp.StatusCode, body)
	}
	if len(body) > holdMaxRepoCAR {
		t.Fatalf("getRepo CAR is over %d bytes", holdMaxRepoCAR)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.ipld.car" {
		t.Errorf("getRepo Content-Type = %q, want application/vnd.ipld.car", ct)
	}
	return body
}

// holdCheckBlockHashes checks that every block of a CAR hashes to its CID (the
// CAR reader does not) and returns the number of blocks.
func holdCheckBlockHashes(t *testing.T, carBytes []byte) int {
	t.Helper()
	cr, err := car.NewCarReader(bytes.NewReader(carBytes))
	if err != nil {
		t.Fatalf("read CAR: %v", err)
	}
	n := 0
	for {
		blk, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("read CAR block %d: %v", n, err)
		}
		sum, err := blk.Cid().Prefix().Sum(blk.RawData())
		if err != nil || !sum.Equals(blk.Cid()) {
			t.Fatalf("CAR block %s hashes to %s (%v)", blk.Cid(), sum, err)
		}
		n++
	}
}

// holdTamperCommitSignature rewrites a repository CAR with one byte of the
// commit's signature flipped. The commit block gets its new CID and becomes
// the new root, so the CAR stays well-formed and only the signature is wrong.
func holdTamperCommitSignature(t *testing.T, carBytes []byte) []byte {
	t.Helper()
	cr, err := car.NewCarReader(bytes.NewReader(carBytes))
	if err != nil {
		t.Fatalf("read CAR: %v", err)
	}
	root := cr.Header.Roots[0]
	var out bytes.Buffer
	var body bytes.Buffer // blocks, written after the header that names the new root
	var newRoot cid.Cid
	for {
		blk, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read CAR block: %v", err)
		}
		c, data := blk.Cid(), blk.RawData()
		if c.Equals(root) {
			c, data = holdFlipSignature(t, data)
			newRoot = c
		}
		if err := carutil.LdWrite(&body, c.Bytes(), data); err != nil {
			t.Fatal(err)
		}
	}
	if !newRoot.Defined() {
		t.Fatal("the CAR does not contain its root (commit) block")
	}
	if err := car.WriteHeader(&car.CarHeader{Roots: []cid.Cid{newRoot}, Version: 1}, &out); err != nil {
		t.Fatal(err)
	}
	out.Write(body.Bytes())
	return out.Bytes()
}

// holdFlipSignature decodes a commit block, flips a bit in the middle of its
// signature and returns the re-encoded block with its CID.
func holdFlipSignature(t *testing.T, block []byte) (cid.Cid, []byte) {
	t.Helper()
	var commit repo.Commit
	if err := commit.UnmarshalCBOR(bytes.NewReader(block)); err != nil {
		t.Fatalf("decode commit: %v", err)
	}
	if len(commit.Sig) == 0 {
		t.Fatal("the commit has no signature")
	}
	commit.Sig[len(commit.Sig)/2] ^= 0x01
	var buf bytes.Buffer
	if err := commit.MarshalCBOR(&buf); err != nil {
		t.Fatal(err)
	}
	c, err := cid.NewPrefixV1(cid.DagCBOR, multihash.SHA2_256).Sum(buf.Bytes())
	if err != nil {
		t.Fatal(fmt.Errorf("CID of the tampered commit: %w", err))
	}
	return c, buf.Bytes()
}
