//go:build !linux && !darwin

package parentref

// ParentCmdline is not available here; `get` uses the active account.
func ParentCmdline() ([]string, error) { return nil, ErrUnsupported }
