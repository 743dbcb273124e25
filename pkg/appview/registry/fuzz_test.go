package registry

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzMatchRoute: any path either fails to match or yields a route whose
// parts come from the path.
func FuzzMatchRoute(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/a.test/b/manifests/v1", "/v2/a/blobs/uploads/", "/v2/x/y/blobs/uploads/id", "/v2//tags/list", "/v2/../../tags/list"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, ok := matchRoute(path)
		if !ok {
			return
		}
		if !strings.HasPrefix(path, "/v2") || !strings.Contains(path, rt.name) || !strings.Contains(path, rt.arg) {
			t.Fatalf("matchRoute(%q) = %+v", path, rt)
		}
	})
}

// FuzzChunkStart: a Content-Range is refused or yields a start and a
// length that agree with the declared Content-Length.
func FuzzChunkStart(f *testing.F) {
	for _, s := range []string{"0-99", "bytes=5-9", "bytes 0-9/10", "9-5", "-1-3", "x", "0-"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, header string, length int64) {
		r := &http.Request{Header: http.Header{"Content-Range": {header}}, ContentLength: length}
		start, size, err := chunkRange(r)
		if err != nil || strings.TrimSpace(header) == "" {
			return
		}
		if start < 0 || size <= 0 || (length >= 0 && size != length) {
			t.Fatalf("chunkRange(%q, length %d) = %d, %d", header, length, start, size)
		}
	})
}
