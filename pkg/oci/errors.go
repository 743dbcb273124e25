package oci

import "fmt"

// inputError is the error every parser and verifier of this package returns.
// It wraps one of the package's sentinels (errors.Is works) and carries a
// message that describes only the client's input. FromError looks for it
// with errors.As, so a caller that wraps it with internal context
// ("stat s3://bucket/key: %w") never leaks that context into a response.
type inputError struct {
	kind error
	msg  string
}

func (e *inputError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *inputError) Unwrap() error { return e.kind }

// invalidf builds an inputError wrapping kind.
func invalidf(kind error, format string, args ...any) error {
	return &inputError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// truncate keeps error messages short when the input is attacker-sized.
func truncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
