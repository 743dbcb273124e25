package embedded

import (
	"crypto/rand"
	"errors"
	"io/fs"

	"atcr.io/pkg/s3"
)

// loadOrCreateCredentials returns the root keys stored at path, generating
// and saving new ones on first start. A file that exists but cannot be read
// or parsed is an error, not a reason to mint new keys silently.
func loadOrCreateCredentials(path string) (s3.CredentialsFile, error) {
	c, err := s3.ReadCredentialsFile(path)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return s3.CredentialsFile{}, err
	}
	c = s3.CredentialsFile{
		// rand.Text is 26 base32 characters (128 bits) from crypto/rand.
		AccessKeyID:     "ATCR" + rand.Text()[:16],
		SecretAccessKey: rand.Text() + rand.Text(),
	}
	if err := s3.WriteCredentialsFile(path, c); err != nil {
		return s3.CredentialsFile{}, err
	}
	return c, nil
}
