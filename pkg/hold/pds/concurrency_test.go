package pds

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// TestConcurrentWritesReadsAndFirehose runs writers, readers, exports, GC and
// a firehose subscriber at once (run with -race). Every commit must arrive
// once, in order, and verify; the final repo must hold exactly the records
// the writers left.
func TestConcurrentWritesReadsAndFirehose(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "", func(o *Options) { o.KeepEvents = 1000 })
	fillRepo(t, p, 20)
	srv := startServer(t, p)
	start := p.LastSeq()
	conn := dialFirehose(t, srv, fmt.Sprint(start))

	const writers, perWriter = 4, 15
	var (
		mu   sync.Mutex
		want = map[string]bool{}
	)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				rkey := syntax.RecordKey(fmt.Sprintf("w%d-%02d", w, i))
				if _, _, err := p.CreateRecord(ctx, crewNSID, rkey, crewRecord(fmt.Sprintf("did:plc:w%d", w))); err != nil {
					errs <- err
					return
				}
				path := "io.atcr.hold.crew/" + rkey.String()
				if i%3 == 2 {
					if err := p.DeleteRecord(ctx, crewNSID, rkey); err != nil {
						errs <- err
						return
					}
					continue
				}
				mu.Lock()
				want[path] = true
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, _, err := p.ListRecords(ctx, crewNSID, 100, "", false); err != nil {
					errs <- err
					return
				}
				var buf bytes.Buffer
				if err := p.Export(ctx, &buf); err != nil {
					errs <- err
					return
				}
				if _, _, err := repo.LoadRepoFromCAR(ctx, &buf); err != nil {
					errs <- fmt.Errorf("export during writes: %w", err)
					return
				}
				buf.Reset()
				if err := p.ExportRecordProof(ctx, &buf, crewNSID, "m0001"); err != nil {
					errs <- err
					return
				}
				if _, err := p.GC(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	last := p.LastSeq()
	if got, wantN := last-start, int64(writers*perWriter+writers*perWriter/3); got != wantN {
		t.Errorf("%d commits, want %d", got, wantN)
	}
	for seq := start + 1; seq <= last; seq++ {
		evt := readCommit(t, conn)
		if evt.Seq != seq {
			t.Fatalf("firehose seq %d, want %d", evt.Seq, seq)
		}
		verifyCommitEvent(t, p, evt)
	}

	_, got := carRecords(t, exportCAR(t, p))
	for path := range want {
		if got[path] == "" {
			t.Errorf("record %s missing", path)
		}
	}
	if len(got) != len(want)+21 { // + the 20 crew and the captain of fillRepo
		t.Errorf("repo has %d records, want %d", len(got), len(want)+21)
	}
}
