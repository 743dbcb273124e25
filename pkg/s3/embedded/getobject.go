package embedded

import (
	"context"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// GetObject hides the *os.File of a whole-object body behind a plain
// reader, so the gateway copies it to the connection through a buffer
// instead of with sendfile.
//
// Every OCI client hashes a blob while it downloads it. Against such a
// reader on loopback, sendfile's large bursts were the slower way: a Go
// client hashing with SHA-256 received 50 MiB in 82–88 ms with sendfile
// and 52–70 ms with 32 KiB copies, 500 MiB in 730–776 ms against
// 575–634 ms (net/http serving the same cached file both ways,
// 2026-11-26, this project's 2-core VM); a client that discards the bytes
// saw no consistent difference. See docs/storage.md.
func (b tunedBackend) GetObject(ctx context.Context, in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
	out, err := b.Posix.GetObject(ctx, in)
	if err != nil || out == nil {
		return out, err
	}
	if f, ok := out.Body.(*os.File); ok {
		out.Body = plainFile{f}
	}
	return out, nil
}

// plainFile offers only Read and Close, so no io.Copy finds the file's
// WriterTo (sendfile) behind it.
type plainFile struct{ f *os.File }

func (p plainFile) Read(b []byte) (int, error) { return p.f.Read(b) }
func (p plainFile) Close() error               { return p.f.Close() }

var _ io.ReadCloser = plainFile{}
