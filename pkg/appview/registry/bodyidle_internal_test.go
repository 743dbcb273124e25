package registry

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// TestBodyReadFailuresAreTheClients: a body cut short or a connection the
// client reset is ErrBodyIncomplete (400, logged at debug), not an error
// of ours (500, ERROR); a clean end stays io.EOF.
func TestBodyReadFailuresAreTheClients(t *testing.T) {
	for _, cause := range []error{io.ErrUnexpectedEOF, syscall.ECONNRESET} {
		b := &idleBody{body: failingReader{cause}, idle: time.Minute, renewed: time.Now()}
		_, err := b.Read(make([]byte, 8))
		if !errors.Is(err, ErrBodyIncomplete) || errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%v: read error %v, want ErrBodyIncomplete (not io.ErrUnexpectedEOF)", cause, err)
		}
	}
	b := &idleBody{body: strings.NewReader(""), idle: time.Minute, renewed: time.Now()}
	if _, err := b.Read(make([]byte, 8)); err != io.EOF {
		t.Errorf("end of body: %v, want io.EOF", err)
	}
}
