package browser

import (
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
)

// ErrNoBrowser means no graphical session or opener was found.
var ErrNoBrowser = errors.New("no browser available")

// Command returns the program and arguments that would open rawURL, or
// ErrNoBrowser. goos and getenv are parameters so every platform's rule is
// testable anywhere. Only absolute http(s) URLs are accepted: the URL comes
// from the registry and must never become a file path or an option.
func Command(goos string, getenv func(string) string, rawURL string) ([]string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("refusing to open %q: not an http(s) URL", rawURL)
	}
	switch goos {
	case "darwin":
		return []string{"open", rawURL}, nil
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler", rawURL}, nil
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return nil, ErrNoBrowser
		}
		return []string{"xdg-open", rawURL}, nil
	}
}

// Open starts the browser on rawURL without waiting for it.
func Open(getenv func(string) string, rawURL string) error {
	argv, err := Command(runtime.GOOS, getenv, rawURL)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("%w: %s not found", ErrNoBrowser, argv[0])
	}
	cmd := exec.Command(path, argv[1:]...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	go func() { _ = cmd.Wait() }() // reap; the opener's exit status is not ours to judge
	return nil
}
