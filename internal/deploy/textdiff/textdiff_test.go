package textdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n"
	want := "--- old\n+++ new\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n@@ -11,3 +11,4 @@\n k\n l\n m\n+n\n"
	if got := Unified("old", "new", []byte(a), []byte(b)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Unified("old", "new", []byte(a), []byte(a)); got != "" {
		t.Errorf("equal texts: %q", got)
	}
	if got := Unified("old", "new", nil, []byte("x\n")); got != "--- old\n+++ new\n@@ -0,0 +1,1 @@\n+x\n" {
		t.Errorf("new file: %q", got)
	}
}

// The hunks apply with patch(1), the reader's own check of the format.
func TestUnifiedAppliesWithPatch(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		if os.Getenv("ATCR_REQUIRE_DEPLOY_TOOLS") != "" {
			t.Fatal("patch is missing (test/stack/install.sh installs it)")
		}
		t.Skip("patch is not installed")
	}
	a := strings.Repeat("line\n", 20) + "x: 1\n" + strings.Repeat("more\n", 20)
	b := "first\n" + strings.Repeat("line\n", 20) + "x: 2\ny: 3\n" + strings.Repeat("more\n", 19)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte(a), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(patch, "-s", file)
	cmd.Stdin = strings.NewReader(Unified("f", "f", []byte(a), []byte(b)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(file); string(got) != b {
		t.Errorf("patched:\n%s", got)
	}
}
