package scan

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/events"
	"github.com/gorilla/websocket"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/s3"
)

// completed is a completed result with a report and an SBOM.
func completed(critical int64, report, sbom string) Result {
	return Result{
		Status: StatusCompleted, Counts: Counts{Critical: critical, High: 2, Medium: 3, Low: 4, Total: critical + 10},
		Report: []byte(report), SBOM: []byte(sbom), ScannerVersion: "grype-v0.121.2 db-2026-12-01T00:00:00Z",
	}
}

// finishOne enqueues job, claims it and finishes it with res.
func (e *testEnv) finishOne(t *testing.T, job Job, res Result) {
	t.Helper()
	e.enqueue(t, job)
	j := e.mustClaim(t, "w1")
	if err := e.q.Finish(t.Context(), "w1", j.ID, res); err != nil {
		t.Fatalf("Finish: %v", err)
	}
}

// getBlob fetches a blob through the PDS's com.atproto.sync.getBlob.
func (e *testEnv) getBlob(t *testing.T, cid string) (string, []byte) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/xrpc/com.atproto.sync.getBlob?did=" + e.pds.DID().String() + "&cid=" + cid)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("getBlob %s: %d %s", cid, resp.StatusCode, body)
	}
	return resp.Header.Get("Content-Type"), body
}

func TestCompletedScanRecordAndBlobs(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 10)
	report, sbom := `{"matches":[{"vulnerability":{"id":"CVE-2026-0001"}}]}`, `{"spdxVersion":"SPDX-2.3"}`
	e.finishOne(t, job, completed(1, report, sbom))

	rec := e.mustRecord(t, job.Image.Digest)
	if rec.Status != "completed" || rec.Critical != 1 || rec.High != 2 || rec.Medium != 3 || rec.Low != 4 || rec.Total != 11 {
		t.Errorf("record counts/status = %+v", rec)
	}
	if rec.Manifest != job.Manifest || rec.UserDID != alice || rec.Repository != "app" ||
		rec.ScannerVersion != "grype-v0.121.2 db-2026-12-01T00:00:00Z" || rec.ScannedAt != "2026-12-01T12:00:00.000Z" {
		t.Errorf("record = %+v", rec)
	}
	if rec.VulnReportBlob == nil || rec.SbomBlob == nil {
		t.Fatalf("record has no blobs: %+v", rec)
	}
	for _, c := range []struct {
		cid, mime, want string
	}{
		{rec.VulnReportBlob.Ref.String(), ReportMediaType, report},
		{rec.SbomBlob.Ref.String(), SBOMMediaType, sbom},
	} {
		mime, body := e.getBlob(t, c.cid)
		if mime != c.mime || string(body) != c.want {
			t.Errorf("getBlob %s = %q %q, want %q %q", c.cid, mime, body, c.mime, c.want)
		}
		// The bytes are in S3, under the PDS's prefix, not in SQLite.
		rc, _, err := e.svc.Open(t.Context(), pds.BlobKeyPrefix+c.cid+"/data")
		if err != nil {
			t.Fatalf("blob %s not in the bucket: %v", c.cid, err)
		}
		stored, _ := io.ReadAll(rc)
		rc.Close()
		if string(stored) != c.want {
			t.Errorf("bucket object %s = %q", c.cid, stored)
		}
	}
	var staged []string
	_ = e.svc.ListPrefix(t.Context(), pds.BlobKeyPrefix+"staging/", func(o s3.ObjectInfo) error {
		staged = append(staged, o.Key)
		return nil
	})
	if len(staged) != 0 {
		t.Errorf("staging objects left: %v", staged)
	}

	// A rescan overwrites the same record key.
	e.finishOne(t, job, completed(7, `{"matches":[]}`, sbom))
	recs, _, err := e.pds.ListRecords(t.Context(), scanCollection, 10, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].URI.RecordKey() != RecordKey(job.Image.Digest) {
		t.Fatalf("after a rescan %d records (%v), want one at %s", len(recs), recs, RecordKey(job.Image.Digest))
	}
	if rec := e.mustRecord(t, job.Image.Digest); rec.Critical != 7 {
		t.Errorf("rescan record critical = %d, want 7", rec.Critical)
	}
}

func TestScanRecordInGetRepoAndFirehose(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 11)
	e.finishOne(t, job, Result{Status: StatusSkipped, Reason: "helm chart", ScannerVersion: "none"})
	path := atcr.HoldScanNSID + "/" + job.Image.Digest.Hex()

	resp, err := http.Get(e.srv.URL + "/xrpc/com.atproto.sync.getRepo?did=" + e.pds.DID().String())
	if err != nil {
		t.Fatal(err)
	}
	car, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, r, err := repo.LoadRepoFromCAR(context.Background(), bytes.NewReader(car))
	if err != nil {
		t.Fatalf("getRepo CAR: %v", err)
	}
	if _, _, err := r.GetRecordBytes(context.Background(), scanCollection, RecordKey(job.Image.Digest)); err != nil {
		t.Errorf("getRepo has no %s: %v", path, err)
	}

	conn, wsResp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/xrpc/com.atproto.sync.subscribeRepos?cursor=0", nil)
	if err != nil {
		t.Fatalf("dial firehose: %v", err)
	}
	wsResp.Body.Close()
	defer conn.Close()
	last := e.pds.LastSeq()
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("firehose ended before %s was seen: %v", path, err)
		}
		var evt events.XRPCStreamEvent
		if err := evt.Deserialize(bytes.NewReader(msg)); err != nil {
			t.Fatalf("decode frame: %v", err)
		}
		if evt.RepoCommit == nil {
			continue
		}
		for _, op := range evt.RepoCommit.Ops {
			if op.Path == path && op.Action == "create" {
				return
			}
		}
		if evt.RepoCommit.Seq >= last {
			t.Fatalf("firehose replayed to seq %d without a create of %s", last, path)
		}
	}
}
