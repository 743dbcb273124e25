package holdoci

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"testing"

	"atcr.io/pkg/oci"
)

const benchBlobSize = 64 * mib

// stageUpload starts a session and uploads a unique 64 MiB blob in four
// 16 MiB parts straight to S3 (outside the measured time).
func stageUpload(b *testing.B, e *testEnv, data []byte, seq uint64) (string, oci.Digest, []part) {
	b.Helper()
	binary.BigEndian.PutUint64(data, seq) // a new digest each time: no dedupe
	id := e.initiate(b, alice, "")
	sess, err := e.h.sessions.get(b.Context(), id)
	if err != nil {
		b.Fatal(err)
	}
	var parts []part
	const partSize = 16 * mib
	for i := 0; i*partSize < len(data); i++ {
		p, err := e.svc.UploadPart(b.Context(), stagingKey(b, id), sess.S3UploadID, int32(i+1),
			bytes.NewReader(data[i*partSize:(i+1)*partSize]))
		if err != nil {
			b.Fatal(err)
		}
		parts = append(parts, part{PartNumber: int64(i + 1), ETag: p.ETag})
	}
	return id, oci.FromBytes(oci.SHA256, data), parts
}

// BenchmarkCompleteUpload64MiB measures io.atcr.hold.completeUpload over
// HTTP: S3 assembles four parts, the hold streams the 64 MiB back through
// SHA-256, then moves it to its digest key (server-side copy + delete).
func BenchmarkCompleteUpload64MiB(b *testing.B) {
	e := newEnv(b)
	data := randomBytes(99, benchBlobSize)
	b.SetBytes(benchBlobSize)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id, d, parts := stageUpload(b, e, data, uint64(i))
		b.StartTimer()
		if resp := e.complete(b, alice, id, d.String(), parts); resp.status != http.StatusOK {
			b.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
		}
	}
}

// BenchmarkCompleteUpload64MiBRename is BenchmarkCompleteUpload64MiB as
// cmd/hold runs the embedded server: the verified upload is renamed to its
// blob key instead of copied.
func BenchmarkCompleteUpload64MiBRename(b *testing.B) {
	e := newEnv(b, withEmbeddedMover)
	data := randomBytes(97, benchBlobSize)
	b.SetBytes(benchBlobSize)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id, d, parts := stageUpload(b, e, data, 3_000_000+uint64(i))
		b.StartTimer()
		if resp := e.complete(b, alice, id, d.String(), parts); resp.status != http.StatusOK {
			b.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
		}
	}
}

// BenchmarkCompleteSteps64MiB splits completion into its three S3 steps.
func BenchmarkCompleteSteps64MiB(b *testing.B) {
	e := newEnv(b)
	data := randomBytes(98, benchBlobSize)
	b.Run("assemble", func(b *testing.B) {
		b.SetBytes(benchBlobSize)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			id, _, parts := stageUpload(b, e, data, 1_000_000+uint64(i))
			sess, _ := e.h.sessions.get(b.Context(), id)
			conv, _ := completedParts(parts)
			b.StartTimer()
			if err := e.h.assemble(b.Context(), sess, stagingKey(b, id), conv); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		id, d, parts := stageUpload(b, e, data, 2_000_000)
		sess, _ := e.h.sessions.get(b.Context(), id)
		conv, _ := completedParts(parts)
		if err := e.h.assemble(b.Context(), sess, stagingKey(b, id), conv); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchBlobSize)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			got, _, err := e.h.hashObject(b.Context(), stagingKey(b, id), oci.SHA256)
			if err != nil || got != d {
				b.Fatalf("hash: %s, %v", got, err)
			}
		}
	})
	b.Run("move", func(b *testing.B) {
		src, dst := "uploads/bench-move/data", "uploads/bench-move-2/data"
		if err := e.svc.PutBytes(b.Context(), src, data); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchBlobSize)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := e.svc.Move(b.Context(), src, dst); err != nil {
				b.Fatal(err)
			}
			src, dst = dst, src
		}
		b.StopTimer()
		if _, err := e.svc.Stat(b.Context(), src); err != nil {
			b.Fatalf("moved object missing: %v", err)
		}
		e.wantNoObject(b, dst)
	})
}

// BenchmarkCompleteExisting64MiB measures completing an upload of a digest
// that is already stored, as cmd/hold runs the embedded server: with
// RehashExisting the stored copy is read back and hashed (M4's check for a
// torn write), without it only its size is compared.
func BenchmarkCompleteExisting64MiB(b *testing.B) {
	for _, rehash := range []bool{false, true} {
		b.Run(fmt.Sprintf("rehash=%v", rehash), func(b *testing.B) {
			e := newEnv(b, withEmbeddedMover, func(c *envConfig) {
				c.modify = func(o *Options) { o.RehashExisting = rehash }
			})
			data := randomBytes(96, benchBlobSize)
			seq := uint64(4_000_000)
			if rehash {
				seq++
			}
			id, d, parts := stageUpload(b, e, data, seq)
			if resp := e.complete(b, alice, id, d.String(), parts); resp.status != http.StatusOK {
				b.Fatalf("first complete: %d %s", resp.status, resp.message)
			}
			b.SetBytes(benchBlobSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				id, d, parts := stageUpload(b, e, data, seq)
				b.StartTimer()
				if resp := e.complete(b, alice, id, d.String(), parts); resp.status != http.StatusOK {
					b.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
				}
			}
		})
	}
}
