package pds

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// prefill writes n crew records in commits of MaxCommitOps.
func prefill(b *testing.B, p *PDS, n int) {
	b.Helper()
	var batch []Write
	for i := range n {
		batch = append(batch, Write{Op: Create, Collection: crewNSID, RKey: syntax.RecordKey(fmt.Sprintf("pre%06d", i)), Record: crewRecord(fmt.Sprintf("did:plc:m%d", i), "blob:read")})
		if len(batch) == MaxCommitOps || i == n-1 {
			if _, err := p.ApplyWrites(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
}

// benchCommits measures one signed single-record commit (encode, MST,
// sign, one SQLite transaction with synchronous=FULL, broadcast).
func benchCommits(b *testing.B, existing int) {
	p := openTestPDS(b, "")
	prefill(b, p, existing)
	ctx := context.Background()
	cpuStart := processCPU()
	n := 0
	for ; b.Loop(); n++ {
		if _, _, err := p.CreateRecord(ctx, crewNSID, "", crewRecord(fmt.Sprintf("did:plc:b%d", n))); err != nil {
			b.Fatal(err)
		}
	}
	// CPU per commit separates our cost from fsync waits on a shared disk.
	b.ReportMetric(float64((processCPU()-cpuStart).Microseconds())/1000/float64(n), "cpu-ms/op")
}

// processCPU returns the process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkCommitEmptyRepo(b *testing.B) { benchCommits(b, 0) }
func BenchmarkCommitAt10k(b *testing.B)     { benchCommits(b, 10_000) }

// BenchmarkBulkCommit200 measures a full 200-op commit; ns/op / 200 is the
// per-record cost of imports and batch writers.
func BenchmarkBulkCommit200(b *testing.B) {
	p := openTestPDS(b, "")
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		batch := make([]Write, MaxCommitOps)
		for j := range batch {
			batch[j] = Write{Op: Create, Collection: crewNSID, Record: crewRecord(fmt.Sprintf("did:plc:%d-%d", i, j))}
		}
		if _, err := p.ApplyWrites(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExport10k measures a full getRepo CAR of 10,000 records.
func BenchmarkExport10k(b *testing.B) {
	p := openTestPDS(b, "")
	prefill(b, p, 10_000)
	ctx := context.Background()
	var size int64
	for b.Loop() {
		cw := &countingWriter{}
		if err := p.Export(ctx, cw); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB/export")
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
