package gobuildcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// HashSize is the size of action and output IDs (SHA-256).
const HashSize = sha256.Size

// An ID is an action ID (the cache key) or an output ID (the SHA-256 of an
// output's content).
type ID [HashSize]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID parses the hex form of an ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*HashSize {
		return id, fmt.Errorf("cache id %q: want %d hex digits", s, 2*HashSize)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("cache id %q: %w", s, err)
	}
	return id, nil
}

// ErrMissing says the directory has no (valid) entry for an action ID.
var ErrMissing = errors.New("build cache: no entry")

// Entry is what an action ID maps to.
type Entry struct {
	Output ID
	Size   int64
	Time   time.Time
	Path   string // the output's file; it holds Size bytes
}

// Dir is a Go build cache directory.
type Dir string

// The index entry's fixed layout, as cmd/go/internal/cache writes it:
// "v1 <hex action> <hex output> <size, 20 wide> <unix nanos, 20 wide>\n".
const entrySize = 2 + 1 + 2*HashSize + 1 + 2*HashSize + 1 + 20 + 1 + 20 + 1

func (d Dir) file(id ID, kind string) string {
	return filepath.Join(string(d), fmt.Sprintf("%02x", id[0]), id.String()+"-"+kind)
}

// Get returns the entry of action, or ErrMissing when there is none or its
// output file is gone or of the wrong size.
func (d Dir) Get(action ID) (Entry, error) {
	raw, err := os.ReadFile(d.file(action, "a"))
	if errors.Is(err, os.ErrNotExist) {
		return Entry{}, ErrMissing
	}
	if err != nil {
		return Entry{}, fmt.Errorf("build cache: read index of %s: %w", action, err)
	}
	e, err := parseEntry(action, string(raw))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %s: %v", ErrMissing, action, err)
	}
	e.Path = d.file(e.Output, "d")
	st, err := os.Stat(e.Path)
	switch {
	case errors.Is(err, os.ErrNotExist) && e.Size == 0:
		// The go command writes no file for an empty output; give one.
		if err := writeFile(e.Path, strings.NewReader(""), 0); err != nil {
			return Entry{}, err
		}
	case err != nil:
		return Entry{}, fmt.Errorf("%w: output of %s: %v", ErrMissing, action, err)
	case st.Size() != e.Size:
		return Entry{}, fmt.Errorf("%w: output of %s has %d bytes, index says %d", ErrMissing, action, st.Size(), e.Size)
	}
	return e, nil
}

func parseEntry(action ID, s string) (Entry, error) {
	if len(s) != entrySize || !strings.HasPrefix(s, "v1 ") || s[len(s)-1] != '\n' {
		return Entry{}, errors.New("malformed index entry")
	}
	f := strings.Fields(s)
	if len(f) != 5 || f[1] != action.String() {
		return Entry{}, errors.New("index entry of another action")
	}
	out, err := ParseID(f[2])
	if err != nil {
		return Entry{}, err
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || size < 0 {
		return Entry{}, fmt.Errorf("index entry size %q", f[3])
	}
	nanos, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return Entry{}, fmt.Errorf("index entry time %q", f[4])
	}
	return Entry{Output: out, Size: size, Time: time.Unix(0, nanos)}, nil
}

// Put stores body (size bytes, whose SHA-256 must be output) under action,
// and returns the entry. The output is written before the index entry, each
// through a temporary file and a rename, so a reader never sees half of one.
func (d Dir) Put(action, output ID, body io.Reader, size int64) (Entry, error) {
	e := Entry{Output: output, Size: size, Time: time.Now(), Path: d.file(output, "d")}
	h := sha256.New()
	if err := writeFile(e.Path, io.TeeReader(body, h), size); err != nil {
		return Entry{}, err
	}
	if got := ID(h.Sum(nil)); got != output {
		os.Remove(e.Path)
		return Entry{}, fmt.Errorf("build cache: output of %s has sha256 %s, not %s", action, got, output)
	}
	line := fmt.Sprintf("v1 %s %s %20d %20d\n", action, output, size, e.Time.UnixNano())
	if err := writeFile(d.file(action, "a"), strings.NewReader(line), int64(len(line))); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// writeFile writes exactly size bytes from r to path, atomically.
func writeFile(path string, r io.Reader, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("%d bytes, want %d", n, size)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("build cache: write %s: %w", path, err)
	}
	return nil
}
