package grypescan

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A killed scan leaves its job directory behind; RemoveLeftovers removes
// every job directory and nothing else, and a missing temp directory is
// no error.
func TestRemoveLeftovers(t *testing.T) {
	tmp := t.TempDir()
	for _, dir := range []string{"job-123/rootfs/etc", "job-456", "keep"} {
		if err := os.MkdirAll(filepath.Join(tmp, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "job-123", "rootfs", "etc", "os-release"), []byte("ID=alpine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "job-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := RemoveLeftovers(tmp)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if !slices.Equal(removed, []string{"job-123", "job-456"}) {
		t.Errorf("removed %v, want job-123 and job-456", removed)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{"job-file", "keep"}) {
		t.Errorf("left %v, want job-file and keep", left)
	}
	if removed, err := RemoveLeftovers(filepath.Join(tmp, "missing")); err != nil || len(removed) != 0 {
		t.Errorf("missing temp directory: %v, %v", removed, err)
	}
}
