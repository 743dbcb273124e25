package scantest

import (
	"archive/tar"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
)

// A layer's tar stream is written by a func(io.Writer) error; Blobs.PutLayer
// compresses and stores it.

// alpineFiles make a root file system that syft sees as Alpine 3.17 with
// bind 9.18.0-r0 and musl installed (the apk installed database).
var alpineFiles = map[string]string{
	"etc/os-release": "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.17.0\nPRETTY_NAME=\"Alpine Linux v3.17\"\n",
	"lib/apk/db/installed": "P:bind\nV:" + VulnInstalled + "\nA:x86_64\nS:1000\nI:2000\nT:ISC BIND\nU:https://www.isc.org\nL:MPL-2.0\no:bind\n\n" +
		"P:musl\nV:1.2.3-r4\nA:x86_64\nS:1\nI:1\nT:musl\nU:https://musl.libc.org\nL:MIT\no:musl\n\n",
}

// VulnerableAlpine writes an Alpine 3.17 layer with bind 9.18.0-r0
// installed: the fixture database reports CVE-2022-38178 for it.
func VulnerableAlpine(w io.Writer) error {
	return Files(alpineFiles)(w)
}

// Files writes a layer of regular files (and their parent directories).
func Files(files map[string]string) func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		dirs := map[string]bool{}
		for _, n := range names {
			for i := 0; i < len(n); i++ {
				if n[i] == '/' && !dirs[n[:i+1]] {
					dirs[n[:i+1]] = true
					if err := tw.WriteHeader(&tar.Header{Name: n[:i+1], Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
						return err
					}
				}
			}
			if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, files[n]); err != nil {
				return err
			}
		}
		return tw.Close()
	}
}

// Entries writes a layer of the given headers, each regular file filled
// with its Size in 'x' bytes: for layers with hostile names.
func Entries(hdrs ...*tar.Header) func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for _, h := range hdrs {
			if h.Mode == 0 {
				h.Mode = 0o644
			}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if h.Typeflag == tar.TypeReg && h.Size > 0 {
				if _, err := io.Copy(tw, io.LimitReader(repeat('x'), h.Size)); err != nil {
					return err
				}
			}
		}
		return tw.Close()
	}
}

// RandomFile writes a layer of one file of size incompressible bytes
// (deterministic for seed), generated as it is written.
func RandomFile(name string, size int64, seed uint64) func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
			return err
		}
		var key [32]byte
		key[0], key[1] = byte(seed), byte(seed>>8)
		if _, err := io.Copy(tw, io.LimitReader(rand.NewChaCha8(key), size)); err != nil {
			return err
		}
		return tw.Close()
	}
}

// TarBomb writes a layer of size zero bytes in files of 8 MiB (each file
// small, the whole huge): about a megabyte compressed per gigabyte
// unpacked.
func TarBomb(size int64) func(io.Writer) error {
	const chunk = 8 << 20
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for i := 0; size > 0; i++ {
			n := min(size, chunk)
			size -= n
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("bomb%05d", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: n}); err != nil {
				return err
			}
			if _, err := io.Copy(tw, io.LimitReader(repeat(0), n)); err != nil {
				return err
			}
		}
		return tw.Close()
	}
}

// DotDot writes a layer with an entry that climbs out of the root.
func DotDot(w io.Writer) error {
	return Entries(
		&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "etc/../../../escaped-dotdot", Typeflag: tar.TypeReg, Size: 4},
	)(w)
}

// AbsolutePath writes a layer with an entry named by an absolute path.
func AbsolutePath(name string) func(io.Writer) error {
	return Entries(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 4})
}

// SymlinkEscape writes a layer with a symlink "escape" pointing at target
// (outside the root: "../../x" or an absolute host path) and then a file
// written through it, "escape/pwned".
func SymlinkEscape(target string) func(io.Writer) error {
	return Entries(
		&tar.Header{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777},
		&tar.Header{Name: "escape/pwned", Typeflag: tar.TypeReg, Size: 5},
	)
}

// ManyFiles writes a layer of n empty files (generated as they are
// written: a million files is about 5 MB compressed).
func ManyFiles(n int) func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("many/%03d/%07d", i/10000, i)
			if i%10000 == 0 {
				if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("many/%03d/", i/10000), Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
					return err
				}
			}
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
				return err
			}
		}
		return tw.Close()
	}
}

// SparseHeader writes a layer whose only entry claims size bytes (a huge
// sparse file, as its header announces it) followed by a few bytes of it:
// the stream ends there, as a scanner that trusts the header never reads
// further.
func SparseHeader(size int64) func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		if err := tw.WriteHeader(&tar.Header{Name: "sparse.img", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
			return err
		}
		_, err := tw.Write(make([]byte, 4096))
		return err // no Close: the entry is deliberately short
	}
}

// repeat is an endless reader of one byte.
type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
