package grypescan

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"atcr.io/pkg/hold/scan/scantest"
)

// unpackLayers applies layers to a fresh root and returns its directory.
func unpackLayers(t *testing.T, layers ...func(io.Writer) error) string {
	t.Helper()
	blobs, err := scantest.NewBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &Scanner{catalog: make(chan struct{}, 1), opts: Options{MaxTempDisk: DefaultMaxTempDisk, MaxFiles: DefaultMaxFiles, MaxRatio: DefaultMaxRatio, MinBombBytes: DefaultMinBombBytes}}
	rootDir := t.TempDir()
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	u := newUnpacker(root, &s.opts)
	for _, w := range layers {
		l, err := blobs.PutLayer(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.applyLayer(context.Background(), u, blobs, l.Desc); err != nil {
			t.Fatalf("apply: %v", err)
		}
	}
	return rootDir
}

func exists(root, p string) bool {
	_, err := os.Lstat(filepath.Join(root, p))
	return err == nil
}

func TestWhiteouts(t *testing.T) {
	root := unpackLayers(t,
		scantest.Files(map[string]string{"a/keep": "1", "a/gone": "2", "b/x": "3", "b/y": "4", "c": "5"}),
		scantest.Entries(
			&tar.Header{Name: "a/.wh.gone", Typeflag: tar.TypeReg},
			&tar.Header{Name: "b/", Typeflag: tar.TypeDir, Mode: 0o755},
			&tar.Header{Name: "b/new", Typeflag: tar.TypeReg, Size: 1},
			&tar.Header{Name: "b/.wh..wh..opq", Typeflag: tar.TypeReg},
			&tar.Header{Name: ".wh.c", Typeflag: tar.TypeReg},
		),
	)
	for p, want := range map[string]bool{"a/keep": true, "a/gone": false, "b/x": false, "b/y": false, "b/new": true, "c": false, "a/.wh.gone": false} {
		if got := exists(root, p); got != want {
			t.Errorf("%s exists = %v, want %v", p, got, want)
		}
	}
}

func TestLinksStayInside(t *testing.T) {
	root := unpackLayers(t,
		scantest.Files(map[string]string{"usr/lib/libc.so": "elf", "etc/passwd": "root"}),
		scantest.Entries(
			&tar.Header{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "/usr/lib"},
			&tar.Header{Name: "etc/alt", Typeflag: tar.TypeSymlink, Linkname: "../usr/lib/libc.so"},
			&tar.Header{Name: "etc/passwd.hard", Typeflag: tar.TypeLink, Linkname: "etc/passwd"},
			// A file replacing a symlink replaces the link, not its target.
			&tar.Header{Name: "etc/alt", Typeflag: tar.TypeReg, Size: 1},
		),
	)
	target, err := os.Readlink(filepath.Join(root, "lib"))
	if err != nil || target != "usr/lib" {
		t.Errorf("absolute symlink rewritten to %q (%v), want usr/lib", target, err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "lib", "libc.so")); err != nil || string(data) != "elf" {
		t.Errorf("lib/libc.so through the link: %q %v", data, err)
	}
	if data, _ := os.ReadFile(filepath.Join(root, "usr/lib/libc.so")); string(data) != "elf" {
		t.Errorf("the symlink's target was overwritten: %q", data)
	}
	if fi, err := os.Lstat(filepath.Join(root, "etc/alt")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("etc/alt is not a regular file after replacing the link: %v", err)
	}
	a, _ := os.Stat(filepath.Join(root, "etc/passwd"))
	b, err := os.Stat(filepath.Join(root, "etc/passwd.hard"))
	if err != nil || !os.SameFile(a, b) {
		t.Errorf("hard link not made: %v", err)
	}
}

func TestEntryPath(t *testing.T) {
	for name, want := range map[string]string{"./etc/os-release": "etc/os-release", "a//b/": "a/b", ".": "", "./": ""} {
		if got, err := entryPath(name); err != nil || got != want {
			t.Errorf("entryPath(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	deep := ""
	for range maxPathDepth + 1 {
		deep += "d/"
	}
	for _, bad := range []string{"/etc/passwd", "../x", "a/../../x", "a/..", "x\x00y", deep + "f"} {
		if _, err := entryPath(bad); err == nil {
			t.Errorf("entryPath(%q) accepted", bad)
		}
	}
}
