package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"atcr.io/pkg/s3"
)

// BenchmarkStagedUpload times what the embedded server does for a hold's
// completeUpload, step by step: "complete" is CompleteMultipartUpload
// (assembly, and since issue 11 the data's fsync), "move" is Server.Move to
// the blob key (a rename, and since issue 11 the fsyncs that make it
// durable). The parts are uploaded outside the timer, 16 MiB each as the
// AppView sends them, fresh random bytes every iteration so nothing is
// served from a previous one. The verifying read between the two steps is
// the hold's (pkg/hold/holdoci's BenchmarkCompleteUpload64MiBRename times
// the whole call).
//
//	go test -run '^$' -bench StagedUpload -benchtime 10x ./pkg/s3/embedded/
func BenchmarkStagedUpload(b *testing.B) {
	srv, err := Start(b.Context(), Options{DataDir: b.TempDir(), ChecksumETags: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	})
	svc, err := s3.New(b.Context(), srv.Params())
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{2 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			data := make([]byte, size)
			var complete, move time.Duration
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				_, _ = rand.Read(data)
				key := fmt.Sprintf("uploads/bench%d-%d/data", size, i)
				blob := fmt.Sprintf("blobs/sha256/%02x/bench%d-%d/data", i%256, size, i)
				id, err := svc.CreateMultipartUpload(b.Context(), key)
				if err != nil {
					b.Fatal(err)
				}
				var parts []s3.Part
				for n, off := int32(1), 0; off < size; n, off = n+1, off+16<<20 {
					p, err := svc.UploadPart(b.Context(), key, id, n, bytes.NewReader(data[off:min(off+16<<20, size)]))
					if err != nil {
						b.Fatal(err)
					}
					parts = append(parts, p)
				}
				b.StartTimer()
				t0 := time.Now()
				if err := svc.CompleteMultipartUpload(b.Context(), key, id, parts); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := srv.Move(b.Context(), key, blob); err != nil {
					b.Fatal(err)
				}
				complete += t1.Sub(t0)
				move += time.Since(t1)
			}
			b.ReportMetric(float64(complete.Microseconds())/1e3/float64(b.N), "complete-ms/op")
			b.ReportMetric(float64(move.Microseconds())/1e3/float64(b.N), "move-ms/op")
		})
	}
}
