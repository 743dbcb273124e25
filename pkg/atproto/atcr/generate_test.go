package atcr_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"atcr.io/internal/lexgen/codegen"
	"atcr.io/lexicons"
)

// TestGeneratedUpToDate regenerates the package into a temp dir, exactly as
// go:generate does, and fails for every checked-in file that differs, is
// missing, or no longer has a lexicon.
func TestGeneratedUpToDate(t *testing.T) {
	files, err := codegen.Generate(lexicons.FS, codegen.Options{Package: "atcr", Prefix: "io.atcr"})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	tmp := t.TempDir()
	if err := codegen.WriteDir(tmp, files); err != nil {
		t.Fatalf("write: %v", err)
	}
	want := map[string]bool{}
	for _, f := range files {
		want[f.Name] = true
		fresh, err := os.ReadFile(filepath.Join(tmp, f.Name))
		if err != nil {
			t.Fatalf("read regenerated %s: %v", f.Name, err)
		}
		checkedIn, err := os.ReadFile(f.Name)
		if err != nil {
			t.Errorf("%s is missing; run go generate ./pkg/atproto/atcr", f.Name)
			continue
		}
		if !bytes.Equal(checkedIn, fresh) {
			t.Errorf("%s is out of date (first difference on line %d); run go generate ./pkg/atproto/atcr",
				f.Name, firstDiffLine(checkedIn, fresh))
		}
	}
	stale, err := codegen.StaleFiles(".", want)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		t.Errorf("%s is generated but no lexicon produces it any more; run go generate ./pkg/atproto/atcr", name)
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
