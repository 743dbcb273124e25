package safehttp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrBodyTooLarge is returned (wrapped) when a response body is longer than
// the limit set by Options.MaxResponseBytes or LimitBody.
var ErrBodyTooLarge = errors.New("response body too large")

// LimitBody caps resp.Body at n bytes: reads past n fail with
// ErrBodyTooLarge instead of silently truncating, so a caller never parses a
// cut-off document as if it were whole. Use it for a tighter limit than the
// client's (a handle's well-known file, a DID document).
func LimitBody(resp *http.Response, n int64) {
	if resp == nil || resp.Body == nil {
		return
	}
	resp.Body = &limitedBody{rc: resp.Body, limit: n, remaining: n}
}

type limitedBody struct {
	rc        io.ReadCloser
	limit     int64
	remaining int64
	err       error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte past the limit so that a body of exactly n bytes ends
	// with EOF and a longer one is detected.
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.remaining {
		b.remaining -= int64(n)
		if err != nil {
			b.err = err
		}
		return n, err
	}
	n = int(b.remaining)
	b.remaining = 0
	b.err = fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, b.limit)
	return n, b.err
}

func (b *limitedBody) Close() error {
	return b.rc.Close()
}
