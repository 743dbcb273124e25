package parentref

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// ParentCmdline returns the parent process's arguments from /proc.
func ParentCmdline() ([]string, error) {
	path := fmt.Sprintf("/proc/%d/cmdline", os.Getppid())
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCmdline))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return splitNUL(string(data)), nil
}

// splitNUL splits /proc's NUL-terminated argument list.
func splitNUL(s string) []string {
	s = strings.TrimRight(s, "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
