package buildcheck

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every package explains itself: a package comment always, and in a doc.go
// once the package has more than one file (main packages keep it in main.go).
func TestEveryPackageHasDocGo(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		if p.Doc == "" {
			t.Errorf("%s has no package comment", p.ImportPath)
		}
		if p.Name != "main" && len(p.GoFiles) > 1 && !slices.Contains(p.GoFiles, "doc.go") {
			t.Errorf("%s has no doc.go", p.ImportPath)
		}
	}
}

// maxLines bounds hand-written Go files; generated files are exempt.
const maxLines = 500

func TestFileSizes(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			n, generated := countLines(t, path)
			if !generated && n > maxLines {
				t.Errorf("%s has %d lines (limit %d): split it by concern", path, n, maxLines)
			}
		}
	}
}

func countLines(t *testing.T, path string) (int, bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, generated := 0, false
	for sc.Scan() {
		n++
		if n <= 5 && strings.HasPrefix(sc.Text(), "// Code generated") {
			generated = true
		}
	}
	return n, generated
}
