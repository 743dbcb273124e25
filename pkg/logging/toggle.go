package logging

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Triggers named in the "Log level changed" line.
const (
	TriggerSignal     = "SIGUSR1"
	TriggerAutoRevert = "auto_revert"
)

// Clock is the time source of a LevelToggle; tests replace it to fire the
// auto-revert without waiting.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once after d unless stopped first. It must not call
	// f before returning.
	AfterFunc(d time.Duration, f func()) Stopper
}

// Stopper cancels a pending AfterFunc; *time.Timer implements it.
type Stopper interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }

// LevelToggle switches a logger made by New between its configured level
// and DEBUG. It is safe for concurrent use.
type LevelToggle struct {
	handler    slog.Handler
	level      *slog.LevelVar
	base       slog.Level
	clock      Clock
	autoRevert time.Duration

	mu     sync.Mutex
	raised bool    // level is DEBUG because of a toggle
	timer  Stopper // pending auto-revert while raised
	// gen counts changes, so an auto-revert whose timer could not be
	// stopped in time sees it is stale and does nothing.
	gen uint64
}

// Toggle switches to DEBUG, or back to the configured level if a toggle is
// already in effect. trigger names the cause in the log line.
func (t *LevelToggle) Toggle(trigger string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raised {
		t.lowerLocked(trigger)
		return
	}
	if t.base <= slog.LevelDebug {
		t.emit("Log level unchanged", slog.String("level", t.base.String()), slog.String("trigger", trigger),
			slog.String("reason", "configured level already includes debug"))
		return
	}
	t.raised = true
	t.gen++
	gen := t.gen
	t.level.Set(slog.LevelDebug)
	t.timer = t.clock.AfterFunc(t.autoRevert, func() { t.revert(gen) })
	t.emit("Log level changed", slog.String("from", t.base.String()), slog.String("to", slog.LevelDebug.String()),
		slog.String("trigger", trigger), slog.Duration("auto_revert_in", t.autoRevert))
}

// revert is the auto-revert timer's callback for the toggle numbered gen.
func (t *LevelToggle) revert(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.raised || t.gen != gen {
		return
	}
	t.lowerLocked(TriggerAutoRevert)
}

func (t *LevelToggle) lowerLocked(trigger string) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.raised = false
	t.gen++
	t.level.Set(t.base)
	t.emit("Log level changed", slog.String("from", slog.LevelDebug.String()), slog.String("to", t.base.String()),
		slog.String("trigger", trigger))
}

// emit writes an INFO record straight to the handler: a level change must
// be visible even when the configured level is WARN or ERROR.
func (t *LevelToggle) emit(msg string, attrs ...slog.Attr) {
	r := slog.NewRecord(t.clock.Now(), slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	_ = t.handler.Handle(context.Background(), r) // nowhere to report a failed log write
}

// HandleSignals toggles once per signal received on ch until ctx is done or
// ch is closed. The caller subscribes ch (see Watch).
func (t *LevelToggle) HandleSignals(ctx context.Context, ch <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			t.Toggle(TriggerSignal)
		}
	}
}
