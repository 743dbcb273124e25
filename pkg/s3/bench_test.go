package s3_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/s3"
	"atcr.io/pkg/s3/s3test"
)

// Run with: go test -bench . -run '^$' ./pkg/s3/
// All benchmarks go through the embedded versitygw server on loopback, so
// the numbers include SigV4 signing, HTTP and the posix backend's disk
// writes. The server runs in the same process, so heap figures include it.

func BenchmarkPutBytes(b *testing.B) {
	for _, size := range []int{64 << 10, 4 << 20} {
		b.Run(byteSize(int64(size)), func(b *testing.B) {
			svc := newGatewayService(b)
			data := s3test.Pattern(1, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := svc.PutBytes(b.Context(), "uploads/bench/data", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMultipartPut streams 64 MiB through Put, which uploads it as
// 16 MiB parts, two in flight.
func BenchmarkMultipartPut(b *testing.B) {
	const size = 64 << 20
	svc := newGatewayService(b)
	b.SetBytes(size)
	for b.Loop() {
		if _, err := svc.Put(b.Context(), "uploads/bench-mp/data", s3test.PatternReader(2, size)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutStreamingPeakHeap streams 64 MiB and 1 GiB from a generating
// reader (never a buffer of that size) and reports the peak HeapInuse and
// Sys seen while it ran. Flat memory means the two sizes report about the
// same peak.
func BenchmarkPutStreamingPeakHeap(b *testing.B) {
	for _, size := range []int64{64 << 20, 1 << 30} {
		b.Run(byteSize(size), func(b *testing.B) {
			svc := newGatewayService(b)
			b.SetBytes(size)
			var peakHeap, peakSys uint64
			for b.Loop() {
				runtime.GC()
				stop := sampleMemory(&peakHeap, &peakSys)
				_, err := svc.Put(b.Context(), "uploads/bench-stream/data", s3test.PatternReader(3, size))
				stop()
				if err != nil {
					b.Fatal(err)
				}
				if err := svc.Delete(b.Context(), "uploads/bench-stream/data"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MiB")
			b.ReportMetric(float64(s3.DefaultPutPartSize*s3.DefaultPutConcurrency)/(1<<20), "part-buffers-MiB")
		})
	}
}

// sampleMemory records the highest HeapInuse and Sys every 5 ms until the
// returned stop function is called (which takes one last sample).
func sampleMemory(peakHeap, peakSys *uint64) (stop func()) {
	var ms runtime.MemStats
	sample := func() {
		runtime.ReadMemStats(&ms)
		*peakHeap = max(*peakHeap, ms.HeapInuse)
		*peakSys = max(*peakSys, ms.Sys)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				sample()
				return
			case <-tick.C:
				sample()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	default:
		return fmt.Sprintf("%dKiB", n>>10)
	}
}
