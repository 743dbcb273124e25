package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Format selects the slog handler.
type Format string

// The supported log formats.
const (
	FormatText Format = "text"
	FormatJSON Format = "json"
)

// DefaultAutoRevert is how long debug logging stays on after SIGUSR1.
const DefaultAutoRevert = 30 * time.Minute

// Options configures New. The zero value logs text at INFO to stderr.
type Options struct {
	Level      slog.Level    // configured (base) level
	Format     Format        // FormatText or FormatJSON; anything else is text
	Writer     io.Writer     // destination; nil means os.Stderr
	Clock      Clock         // time source for the auto-revert; nil means real time
	AutoRevert time.Duration // debug lifetime after a toggle; 0 means DefaultAutoRevert
}

// New returns a logger whose level can be switched at runtime through the
// returned toggle.
func New(opts Options) (*slog.Logger, *LevelToggle) {
	w := opts.Writer
	if w == nil {
		w = os.Stderr
	}
	level := new(slog.LevelVar)
	level.Set(opts.Level)
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if opts.Format == FormatJSON {
		h = slog.NewJSONHandler(w, hopts)
	} else {
		h = slog.NewTextHandler(w, hopts)
	}
	clock := opts.Clock
	if clock == nil {
		clock = realClock{}
	}
	revert := opts.AutoRevert
	if revert <= 0 {
		revert = DefaultAutoRevert
	}
	toggle := &LevelToggle{
		handler:    h,
		level:      level,
		base:       opts.Level,
		clock:      clock,
		autoRevert: revert,
	}
	return slog.New(h), toggle
}

// ParseLevel parses a level name such as "info" or "DEBUG" (the config
// values debug, info, warn and error, in any case).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("parse log level %q: %w", s, err)
	}
	return l, nil
}
