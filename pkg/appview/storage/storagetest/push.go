package storagetest

import (
	"bytes"
	"crypto/rand"
	"testing"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/oci"
)

// Repo resolves "<handle or DID>/<path>" as the registry does.
func (e *Env) Repo(t testing.TB, name string) registry.Repo {
	t.Helper()
	n, err := oci.ParseRepository(name)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := e.Store.ResolveOwner(t.Context(), n.Identity())
	if err != nil {
		t.Fatalf("resolve %s: %v", name, err)
	}
	return registry.Repo{Name: n, Owner: owner}
}

// RandomBytes returns n random bytes: blob content no other test shares.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Upload pushes data through s's StartUpload, WriteUpload (chunks of step
// bytes) and FinishUpload, and returns its digest.
func Upload(t testing.TB, s *storage.Store, repo registry.Repo, data []byte, step int) oci.Digest {
	t.Helper()
	ctx := t.Context()
	up, err := s.StartUpload(ctx, repo, oci.Digest{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	for off := 0; off < len(data); off += step {
		end := min(off+step, len(data))
		if _, err := s.WriteUpload(ctx, repo, up.ID, Chunk(int64(off), data[off:end])); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
	d := oci.FromBytes(oci.SHA256, data)
	n, err := s.FinishUpload(ctx, repo, up.ID, d)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("finish: %d, %v", n, err)
	}
	return d
}

// Chunk is a chunk of known size starting at start.
func Chunk(start int64, data []byte) registry.Chunk {
	return registry.Chunk{Start: start, Size: int64(len(data)), Body: bytes.NewReader(data)}
}

// Streamed is a chunk of unknown size (chunked transfer encoding).
func Streamed(start int64, data []byte) registry.Chunk {
	return registry.Chunk{Start: start, Size: -1, Body: bytes.NewReader(data)}
}
