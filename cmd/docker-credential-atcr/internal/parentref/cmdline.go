package parentref

import "errors"

// ErrUnsupported is returned by ParentCmdline where the platform offers no
// way to read another process's command line.
var ErrUnsupported = errors.New("reading the parent's command line is not supported on this platform")

// maxCmdline bounds what is read: Linux caps argv at a few MiB, and a
// reference is always within the first few hundred bytes of a sane command.
const maxCmdline = 1 << 20

// Reader returns a command line as arguments. ParentCmdline is the real one;
// tests inject fakes.
type Reader func() ([]string, error)
