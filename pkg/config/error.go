package config

import (
	"fmt"
	"strings"
)

// Error is a configuration problem tied to one key or file position. Apart
// from failures to open or read the file (which wrap the os error, so
// errors.Is(err, fs.ErrNotExist) works), every error returned by LoadHold and
// LoadAppView is an *Error or an errors.Join of them.
type Error struct {
	File string // config file the value came from; "" for defaults and env
	Line int    // 1-based line in File; 0 when the key is not in the file
	Env  string // environment variable that supplied the value, if any
	Key  string // dotted key, e.g. "storage.bucket"; "" for whole-file errors
	Msg  string // full message, naming the key
}

// Error formats the problem as "config: FILE:LINE: message",
// "config: env NAME: message" or "config: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	switch {
	case e.Env != "":
		fmt.Fprintf(&b, "env %s: ", e.Env)
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// sources remembers where each key's value came from, so that validation
// errors found after decoding can still point at the file line or the
// environment variable.
type sources struct {
	file  string            // config file path; "" when only defaults are used
	lines map[string]int    // key → line of the key in file
	env   map[string]string // key → environment variable that set it
}

// set reports whether key was given in the file or the environment.
func (s *sources) set(key string) bool {
	_, inFile := s.lines[key]
	_, inEnv := s.env[key]
	return inFile || inEnv
}

func newSources(file string) *sources {
	return &sources{file: file, lines: map[string]int{}, env: map[string]string{}}
}

// errorf builds an *Error for key, located at the key's origin.
func (s *sources) errorf(key, format string, args ...any) *Error {
	e := &Error{File: s.file, Key: key, Msg: key + ": " + fmt.Sprintf(format, args...)}
	if env, ok := s.env[key]; ok {
		e.File, e.Env = "", env
		return e
	}
	e.Line = s.lines[key]
	return e
}
