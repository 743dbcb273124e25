package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// IsGenerated reports whether a Go source file was written by this generator.
func IsGenerated(content []byte) bool {
	return bytes.HasPrefix(content, []byte(Header+"\n"))
}

// WriteDir writes files into dir and deletes generated files there that are
// no longer produced (a lexicon was removed or renamed). It never overwrites
// or deletes a hand-written file.
func WriteDir(dir string, files []File) error {
	want := make(map[string]bool, len(files))
	for _, f := range files {
		want[f.Name] = true
		p := filepath.Join(dir, f.Name)
		old, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("read %s: %w", p, err)
		case !IsGenerated(old):
			return fmt.Errorf("refusing to overwrite hand-written %s", p)
		case bytes.Equal(old, f.Content):
			continue
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	stale, err := StaleFiles(dir, want)
	if err != nil {
		return err
	}
	for _, name := range stale {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", name, err)
		}
	}
	return nil
}

// StaleFiles lists the generated .go files in dir whose names are not in want.
func StaleFiles(dir string, want map[string]bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var stale []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || want[name] {
			continue
		}
		content, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if IsGenerated(content) {
			stale = append(stale, name)
		}
	}
	return stale, nil
}
