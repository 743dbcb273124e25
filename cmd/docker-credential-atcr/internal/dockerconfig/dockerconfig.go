package dockerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"atcr.io/cmd/docker-credential-atcr/internal/atomicfile"
)

// HelperName is the suffix Docker appends to "docker-credential-".
const HelperName = "atcr"

// credHelpersKey is config.json's map from registry host to helper suffix.
const credHelpersKey = "credHelpers"

// maxConfigSize bounds the read; real configs are a few KiB.
const maxConfigSize = 8 << 20

// Path returns config.json in $DOCKER_CONFIG, or in ~/.docker.
func Path(getenv func(string) string, home string) string {
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	return filepath.Join(home, ".docker", "config.json")
}

// Result says what SetCredHelper did.
type Result struct {
	Previous string // the helper configured before, "" if none
	Changed  bool   // false when the entry was already there
	Created  bool   // the file did not exist
}

// SetCredHelper sets credHelpers[registry] = helper in the config at path,
// keeping every other key. A missing file (and directory, 0700) is created
// with mode 0600; an existing file keeps its mode.
func SetCredHelper(path, registry, helper string) (Result, error) {
	doc, mode, exists, err := read(path)
	if err != nil {
		return Result{}, err
	}
	helpers, err := credHelpers(doc, path)
	if err != nil {
		return Result{}, err
	}
	res := Result{Previous: helpers[registry], Created: !exists}
	if res.Previous == helper {
		return res, nil
	}
	helpers[registry] = helper
	raw, err := json.Marshal(helpers)
	if err != nil {
		return Result{}, fmt.Errorf("encode credHelpers: %w", err)
	}
	doc[credHelpersKey] = raw
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return Result{}, fmt.Errorf("encode %s: %w", path, err)
	}
	if !exists {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return Result{}, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
	}
	if err := atomicfile.Write(path, append(out, '\n'), mode); err != nil {
		return Result{}, err
	}
	res.Changed = true
	return res, nil
}

// CredHelper returns the helper configured for registry, "" when none (or
// when there is no config file).
func CredHelper(path, registry string) (string, error) {
	doc, _, _, err := read(path)
	if err != nil {
		return "", err
	}
	helpers, err := credHelpers(doc, path)
	if err != nil {
		return "", err
	}
	return helpers[registry], nil
}

// read returns the top-level keys of the config, its mode, and whether it exists.
func read(path string) (map[string]json.RawMessage, fs.FileMode, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]json.RawMessage{}, 0o600, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("open Docker config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, false, fmt.Errorf("stat %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, 0, false, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, 0, false, fmt.Errorf("read %s: larger than %d bytes", path, maxConfigSize)
	}
	doc := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, 0, false, fmt.Errorf("parse %s (left unchanged): %w", path, err)
		}
	}
	if doc == nil { // the file said "null"
		doc = map[string]json.RawMessage{}
	}
	return doc, fi.Mode().Perm(), true, nil
}

func credHelpers(doc map[string]json.RawMessage, path string) (map[string]string, error) {
	helpers := map[string]string{}
	if raw, ok := doc[credHelpersKey]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &helpers); err != nil {
			return nil, fmt.Errorf("%s: credHelpers is not an object of strings (left unchanged): %w", path, err)
		}
	}
	return helpers, nil
}
