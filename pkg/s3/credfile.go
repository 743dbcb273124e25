package s3

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// CredentialsFile is the JSON the embedded S3 server keeps in
// <data dir>/s3-credentials.json (mode 0600). The keys are generated once and
// reused across restarts; Endpoint is rewritten on every start because the
// port may change. cmd/s3-test --credentials-file reads it.
type CredentialsFile struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	Region          string `json:"region"`
	Bucket          string `json:"bucket"`
	Endpoint        string `json:"endpoint,omitempty"`
}

// maxCredentialsFileSize bounds the read of a file that is a few hundred
// bytes when well-formed.
const maxCredentialsFileSize = 64 << 10

// Params returns service parameters for the server the file describes
// (path-style, as the embedded server requires).
func (c CredentialsFile) Params() Params {
	return Params{
		Bucket:    c.Bucket,
		Region:    c.Region,
		Endpoint:  c.Endpoint,
		AccessKey: c.AccessKeyID,
		SecretKey: c.SecretAccessKey,
		PathStyle: true,
	}
}

// ReadCredentialsFile loads and checks a credentials file. A missing file is
// an error wrapping fs.ErrNotExist.
func ReadCredentialsFile(path string) (CredentialsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return CredentialsFile{}, fmt.Errorf("read s3 credentials: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialsFileSize+1))
	if err != nil {
		return CredentialsFile{}, fmt.Errorf("read s3 credentials %s: %w", path, err)
	}
	if len(data) > maxCredentialsFileSize {
		return CredentialsFile{}, fmt.Errorf("read s3 credentials %s: larger than %d bytes", path, maxCredentialsFileSize)
	}
	var c CredentialsFile
	if err := json.Unmarshal(data, &c); err != nil {
		return CredentialsFile{}, fmt.Errorf("parse s3 credentials %s: %w", path, err)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return CredentialsFile{}, fmt.Errorf("s3 credentials %s: access_key_id and secret_access_key are required", path)
	}
	return c, nil
}

// WriteCredentialsFile writes c to path atomically (temporary file in the
// same directory, fsync, rename) with mode 0600, so a crash never leaves a
// half-written or world-readable secret.
func WriteCredentialsFile(path string, c CredentialsFile) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode s3 credentials: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".s3-credentials-*.tmp")
	if err != nil {
		return fmt.Errorf("write s3 credentials: %w", err)
	}
	done := false
	defer func() {
		if !done { // best-effort clean-up; the write error is what matters
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp already uses 0600; Chmod makes the mode independent of it.
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write s3 credentials: %w", err)
	}
	if _, err = tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write s3 credentials: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write s3 credentials: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write s3 credentials: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write s3 credentials: %w", err)
	}
	done = true
	return nil
}
