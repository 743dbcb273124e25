package uploads_test

import (
	"bytes"
	"testing"

	"atcr.io/internal/redistest"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// BenchmarkPush50MiB pushes a 50 MiB blob through one AppView as crane
// does (POST, one streamed PATCH, PUT) into a hold on embedded S3, with the
// sessions in memory and in Redis: what shared sessions cost one push.
//
//	go test -run '^$' -bench Push50MiB -benchtime 10x ./pkg/appview/uploads/
func BenchmarkPush50MiB(b *testing.B) {
	data := storagetest.RandomBytes(50 << 20)
	d := oci.FromBytes(oci.SHA256, data)
	for _, mode := range []string{"memory", "redis"} {
		b.Run(mode, func(b *testing.B) {
			env := storagetest.NewEnv(b, storagetest.EnvOptions{S3: storagetest.EmbeddedS3(b), Store: func(o *storage.Options) {
				if mode == "redis" {
					o.Redis = redistest.New(b)
				}
			}})
			env.AddUser("alice.test")
			repo := env.Repo(b, "alice.test/app")
			ctx := b.Context()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				up, err := env.Store.StartUpload(ctx, repo, oci.Digest{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := env.Store.WriteUpload(ctx, repo, up.ID, registry.Chunk{Start: 0, Size: -1, Body: bytes.NewReader(data)}); err != nil {
					b.Fatal(err)
				}
				if _, err := env.Store.FinishUpload(ctx, repo, up.ID, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSmallChunk is one 64 KiB PATCH of a session (what resumable
// clients and the conformance suite send), sessions in memory and in
// Redis: the per-request cost of loading, locking and saving a session.
//
//	go test -run '^$' -bench SmallChunk ./pkg/appview/uploads/
func BenchmarkSmallChunk(b *testing.B) {
	chunk := storagetest.RandomBytes(64 << 10)
	for _, mode := range []string{"memory", "redis"} {
		b.Run(mode, func(b *testing.B) {
			env := storagetest.NewEnv(b, storagetest.EnvOptions{Store: func(o *storage.Options) {
				if mode == "redis" {
					o.Redis = redistest.New(b)
				}
			}})
			env.AddUser("alice.test")
			repo := env.Repo(b, "alice.test/app")
			ctx := b.Context()
			up, err := env.Store.StartUpload(ctx, repo, oci.Digest{})
			if err != nil {
				b.Fatal(err)
			}
			var off int64
			b.ResetTimer()
			for range b.N {
				if off+int64(len(chunk)) > 4<<20 { // stay a small remainder: start over
					b.StopTimer()
					_ = env.Store.CancelUpload(ctx, repo, up.ID)
					if up, err = env.Store.StartUpload(ctx, repo, oci.Digest{}); err != nil {
						b.Fatal(err)
					}
					off = 0
					b.StartTimer()
				}
				if _, err := env.Store.WriteUpload(ctx, repo, up.ID, storagetest.Chunk(off, chunk)); err != nil {
					b.Fatal(err)
				}
				off += int64(len(chunk))
			}
		})
	}
}
