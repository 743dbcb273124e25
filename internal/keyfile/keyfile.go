package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// MaxSize bounds the key file read. A PEM P-256 key is about 240 bytes and
// a multibase one about 50; anything larger is not a key.
const MaxSize = 16 << 10

// LoadOrCreate returns the contents of the key file at path. When the file
// does not exist it calls generate and writes the result as described in
// the package comment; if another process creates the file first, that
// file's contents are returned instead. created reports whether this call
// wrote the file. log receives the loose-permission warning; nil means
// slog.Default().
func LoadOrCreate(path string, generate func() ([]byte, error), log *slog.Logger) (data []byte, created bool, err error) {
	if log == nil {
		log = slog.Default()
	}
	data, err = read(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return data, false, err
	}
	fresh, err := generate()
	if err != nil {
		return nil, false, fmt.Errorf("generate key for %s: %w", path, err)
	}
	if err := writeNew(path, fresh); err != nil {
		if errors.Is(err, fs.ErrExist) {
			data, err = read(path, log) // another process won the race
			return data, false, err
		}
		return nil, false, err
	}
	return fresh, true, nil
}

// read returns the file's contents; a missing file returns an error
// wrapping fs.ErrNotExist.
func read(path string, log *slog.Logger) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat key file %s: %w", path, err)
	}
	if info.Size() > MaxSize {
		return nil, fmt.Errorf("key file %s: %d bytes is too large for a key", path, info.Size())
	}
	if info.Mode().Perm()&0o077 != 0 {
		log.Warn("key file is readable by group or others", "path", path, "mode", info.Mode().Perm().String())
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	return data, nil
}

// writeNew creates path with data (0600, parent 0700), failing with an
// error wrapping fs.ErrExist if it already exists. The data is synced
// before the name appears.
func writeNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("create temporary key file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // the link below keeps the data under path
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	// Link, unlike rename, refuses to replace an existing file.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("install %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}
