package markdown

import (
	"context"
	"os"
	"testing"
)

// BenchmarkTypicalReadme renders testdata/typical-readme.md (about 20 KiB:
// badges, a table, task lists, code, relative links, the credential helper
// and deployment docs of this repository).
func BenchmarkTypicalReadme(b *testing.B) {
	src, err := os.ReadFile("testdata/typical-readme.md")
	if err != nil {
		b.Fatal(err)
	}
	r := New()
	bases := SourceBases("https://github.com/alice/app")
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(context.Background(), src, bases); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostile renders each hostile input of limits_test.go.
func BenchmarkHostile(b *testing.B) {
	r := New()
	for _, c := range hostileSizes {
		src := []byte(c.src())
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				_, _ = r.Render(context.Background(), src, githubBases)
			}
		})
	}
}
