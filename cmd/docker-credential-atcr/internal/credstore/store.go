package credstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"atcr.io/cmd/docker-credential-atcr/internal/atomicfile"
)

// EnvPath names the environment variable that overrides the file's location.
const EnvPath = "ATCR_CREDENTIALS_FILE"

// fileVersion is the format this helper writes and reads.
const fileVersion = 1

// maxFileSize bounds the read: the file holds a few hundred bytes per account.
const maxFileSize = 1 << 20

// ErrInsecurePermissions is returned by Load when group or others have any
// access to the file. The helper never reads secrets others could read too.
var ErrInsecurePermissions = errors.New("credentials file is accessible by other users")

// ErrUnsupportedVersion is returned by Load for a file written by a newer
// helper, which this one would corrupt by rewriting.
var ErrUnsupportedVersion = errors.New("credentials file has an unsupported version")

// DefaultPath returns $ATCR_CREDENTIALS_FILE, or ~/.atcr/credential-helper.json.
func DefaultPath(getenv func(string) string, home string) string {
	if p := getenv(EnvPath); p != "" {
		return p
	}
	return filepath.Join(home, ".atcr", "credential-helper.json")
}

// Store reads and writes the credentials file at Path.
type Store struct {
	Path string
}

// Load reads the file. A missing file is an empty one.
func (s Store) Load() (*File, error) {
	f, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{Version: fileVersion, Registries: map[string]*Registry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open credentials file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", s.Path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrInsecurePermissions, s.Path, perm, s.Path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.Path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", s.Path, maxFileSize)
	}
	var file File
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &file); err != nil {
			return nil, fmt.Errorf("parse %s: %w", s.Path, err)
		}
	}
	if file.Version > fileVersion {
		return nil, fmt.Errorf("%w: %s is version %d, this helper knows %d; update docker-credential-atcr",
			ErrUnsupportedVersion, s.Path, file.Version, fileVersion)
	}
	file.Version = fileVersion
	if file.Registries == nil {
		file.Registries = map[string]*Registry{}
	}
	for k, r := range file.Registries {
		if r == nil || len(r.Accounts) == 0 {
			delete(file.Registries, k)
		}
	}
	return &file, nil
}

// Save writes f atomically with mode 0600, creating the directory (0700)
// when it is missing. Registries without accounts are dropped.
func (s Store) Save(f *File) error {
	for k, r := range f.Registries {
		if len(r.Accounts) == 0 {
			delete(f.Registries, k)
		}
	}
	f.Version = fileVersion
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return fmt.Errorf("create directory for %s: %w", s.Path, err)
	}
	if err := atomicfile.Write(s.Path, data, 0o600); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}
