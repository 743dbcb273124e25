package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
)

// BenchmarkRepositoryPage1000Tags renders the repository page of a
// repository with 1,000 tags (every 4th an index of two platforms) and a
// typical README, through the router as a request does: the index query,
// the README render and the template. Target: < 30 ms.
func BenchmarkRepositoryPage1000Tags(b *testing.B) {
	ie := newIndexEnv(b, nil)
	var records []index.Record
	for i := range 1000 {
		rk := mkey(10_000 + i)
		at := ie.stamp(time.Duration(1000-i) * time.Minute)
		m := image("big", 10_000+i*10, at, map[string]any{"org.opencontainers.image.description": "a big repository"})
		if i%4 == 0 {
			m = multiArch("big", 10_000+i*10, at)
		}
		records = append(records, record(b, aliceDID.String(), rk, m), tag(b, aliceDID.String(), "big", fmt.Sprintf("v1.%d", i), rk, at))
	}
	readme := strings.Repeat("## Section\n\nSome *text* with a [link](https://example.com) and `code`.\n\n```sh\ndocker run it\n```\n\n", 100)
	records = append(records, record(b, aliceDID.String(), pdsread.RepoPageKey("big"),
		&atcr.RepoPage{Repository: "big", Description: readme, CreatedAt: ie.stamp(time.Hour)}))
	if _, err := ie.store.Apply(b.Context(), index.Batch{Events: events(records)}); err != nil {
		b.Fatal(err)
	}
	if err := ie.store.SetHandle(b.Context(), aliceDID.String(), "alice.test"); err != nil {
		b.Fatal(err)
	}
	handler := ie.srv.Config.Handler
	req := httptest.NewRequest(http.MethodGet, "/r/alice.test/big", nil)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `<li class="tag"`) != index.MaxPageTags ||
		!strings.Contains(rec.Body.String(), `id="tags-shown"`) || !strings.Contains(rec.Body.String(), "1000 tags") {
		b.Fatalf("page: %d, %d tags", rec.Code, strings.Count(rec.Body.String(), `<li class="tag"`))
	}
	b.ReportMetric(float64(rec.Body.Len()), "bytes/page")
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

func events(records []index.Record) []index.Event {
	out := make([]index.Event, len(records))
	for i, r := range records {
		out[i] = index.Event{Record: r}
	}
	return out
}
