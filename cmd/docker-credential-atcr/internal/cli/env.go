package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"time"

	"atcr.io/cmd/docker-credential-atcr/internal/authclient"
	"atcr.io/cmd/docker-credential-atcr/internal/browser"
	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
	"atcr.io/cmd/docker-credential-atcr/internal/dockerconfig"
	"atcr.io/cmd/docker-credential-atcr/internal/parentref"
	"atcr.io/pkg/version"
)

// DebugEnv turns on a stderr line explaining which account `get` chose.
const DebugEnv = "ATCR_CREDENTIAL_HELPER_DEBUG"

// maxStdin bounds what the protocol verbs read from Docker.
const maxStdin = 1 << 20

// Env is the outside world as the commands see it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	HomeDir        string
	// StdinIsTerminal: a person is typing, not Docker piping.
	StdinIsTerminal bool
	ParentCmdline   parentref.Reader
	OpenBrowser     func(url string) error
	LookPath        func(file string) (string, error)
	Hostname        func() (string, error)
	// HTTPClient is used for every request; nil builds one from the
	// environment (proxies, SSL_CERT_FILE).
	HTTPClient *http.Client
	Sleep      func(ctx context.Context, d time.Duration) error
	Now        func() time.Time
}

// SystemEnv is the real process environment.
func SystemEnv() *Env {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "" // reported when a path under it is needed
	}
	return &Env{
		Stdin:           os.Stdin,
		Stdout:          os.Stdout,
		Stderr:          os.Stderr,
		Getenv:          os.Getenv,
		HomeDir:         home,
		StdinIsTerminal: isTerminal(os.Stdin),
		ParentCmdline:   parentref.ParentCmdline,
		OpenBrowser:     func(u string) error { return browser.Open(os.Getenv, u) },
		LookPath:        exec.LookPath,
		Hostname:        os.Hostname,
		Now:             time.Now,
	}
}

// isTerminal reports whether f is a character device (a terminal), without
// a dependency on x/term.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// userAgent is sent with every request.
func userAgent() string { return "docker-credential-atcr/" + version.String() }

func (e *Env) home() (string, error) {
	if e.HomeDir == "" {
		return "", fmt.Errorf("cannot find the home directory; set HOME (or %s and DOCKER_CONFIG)", credstore.EnvPath)
	}
	return e.HomeDir, nil
}

// store returns the credentials store.
func (e *Env) store() (credstore.Store, error) {
	if p := e.Getenv(credstore.EnvPath); p != "" {
		return credstore.Store{Path: p}, nil
	}
	home, err := e.home()
	if err != nil {
		return credstore.Store{}, err
	}
	return credstore.Store{Path: credstore.DefaultPath(e.Getenv, home)}, nil
}

// dockerConfigPath returns Docker's config.json path.
func (e *Env) dockerConfigPath() (string, error) {
	if e.Getenv("DOCKER_CONFIG") != "" {
		return dockerconfig.Path(e.Getenv, ""), nil
	}
	home, err := e.home()
	if err != nil {
		return "", err
	}
	return dockerconfig.Path(e.Getenv, home), nil
}

func (e *Env) httpClient() (*http.Client, error) {
	if e.HTTPClient != nil {
		return e.HTTPClient, nil
	}
	return authclient.NewHTTPClient(e.Getenv)
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
