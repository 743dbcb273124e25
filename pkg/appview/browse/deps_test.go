package browse

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsFollowPackageMap enforces the package map: browse reads
// records from PDSes on its own, so the UI that imports it stays clear of
// the registry and storage (and of the UI itself, which depends on it).
func TestImportsFollowPackageMap(t *testing.T) {
	forbidden := []string{"atcr.io/pkg/appview/registry", "atcr.io/pkg/appview/storage", "atcr.io/pkg/appview/ui",
		"atcr.io/pkg/s3", "atcr.io/pkg/hold"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s", file, path)
				}
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
