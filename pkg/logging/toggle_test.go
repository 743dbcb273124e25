package logging

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

const (
	upFromInfo   = `level=INFO msg=Log level changed from=INFO to=DEBUG trigger=SIGUSR1 auto_revert_in=30m0s`
	downAuto     = `level=INFO msg=Log level changed from=DEBUG to=INFO trigger=auto_revert`
	downBySignal = `level=INFO msg=Log level changed from=DEBUG to=INFO trigger=SIGUSR1`
)

func newTestLogger(base slog.Level) (*slog.Logger, *LevelToggle, *syncBuffer, *fakeClock) {
	buf := &syncBuffer{}
	clock := newFakeClock()
	logger, toggle := New(Options{Level: base, Writer: buf, Clock: clock})
	return logger, toggle, buf, clock
}

func wantLines(t *testing.T, buf *syncBuffer, want ...string) {
	t.Helper()
	got := buf.lines(t)
	if len(got) != len(want) {
		t.Fatalf("got %d log lines, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if g := got[i].without("time"); g != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, g, want[i])
		}
	}
}

func TestToggleAutoRevert(t *testing.T) {
	t.Parallel()
	logger, toggle, buf, clock := newTestLogger(slog.LevelInfo)
	logger.Debug("hidden before")
	toggle.Toggle(TriggerSignal)
	if toggle.level.Level() != slog.LevelDebug {
		t.Fatalf("level %v after toggle, want DEBUG", toggle.level.Level())
	}
	logger.Debug("shown while raised")
	clock.Advance(30*time.Minute - time.Second)
	if toggle.level.Level() != slog.LevelDebug {
		t.Fatalf("level %v before 30 minutes passed, want DEBUG", toggle.level.Level())
	}
	clock.Advance(time.Second)
	if toggle.level.Level() != slog.LevelInfo {
		t.Fatalf("level %v after 30 minutes, want INFO", toggle.level.Level())
	}
	logger.Debug("hidden after")
	wantLines(t, buf, upFromInfo, "level=DEBUG msg=shown while raised", downAuto)

	lines := buf.lines(t)
	if got, want := lines[2].get("time"), clock.Now().Format("2006-01-02T15:04:05.000Z07:00"); got != want {
		t.Errorf("revert logged at %s, want the clock's time %s", got, want)
	}
}

func TestSecondToggleRevertsAtOnce(t *testing.T) {
	t.Parallel()
	_, toggle, buf, clock := newTestLogger(slog.LevelInfo)
	toggle.Toggle(TriggerSignal)
	toggle.Toggle(TriggerSignal)
	if toggle.level.Level() != slog.LevelInfo {
		t.Fatalf("level %v after second toggle, want INFO", toggle.level.Level())
	}
	if n := clock.pending(); n != 0 {
		t.Fatalf("%d auto-revert timers still pending after the second toggle", n)
	}
	clock.Advance(time.Hour)
	// A timer whose Stop lost the race would still run its callback.
	for _, tm := range clock.all() {
		tm.f()
	}
	wantLines(t, buf, upFromInfo, downBySignal)
}

func TestStaleTimerDoesNotEndNewToggle(t *testing.T) {
	t.Parallel()
	_, toggle, buf, clock := newTestLogger(slog.LevelInfo)
	toggle.Toggle(TriggerSignal)
	toggle.Toggle(TriggerSignal)
	toggle.Toggle(TriggerSignal)
	clock.all()[0].f() // the first toggle's timer, firing although it was stopped
	if toggle.level.Level() != slog.LevelDebug {
		t.Fatalf("stale timer reverted the second toggle: level %v", toggle.level.Level())
	}
	clock.Advance(DefaultAutoRevert)
	wantLines(t, buf, upFromInfo, downBySignal, upFromInfo, downAuto)
}

func TestToggleKeepsConfiguredLevel(t *testing.T) {
	t.Parallel()
	logger, toggle, buf, clock := newTestLogger(slog.LevelWarn)
	logger.Info("hidden at warn")
	toggle.Toggle(TriggerSignal)
	clock.Advance(DefaultAutoRevert)
	toggle.Toggle("test")
	toggle.Toggle("test")
	wantLines(t, buf,
		"level=INFO msg=Log level changed from=WARN to=DEBUG trigger=SIGUSR1 auto_revert_in=30m0s",
		"level=INFO msg=Log level changed from=DEBUG to=WARN trigger=auto_revert",
		"level=INFO msg=Log level changed from=WARN to=DEBUG trigger=test auto_revert_in=30m0s",
		"level=INFO msg=Log level changed from=DEBUG to=WARN trigger=test",
	)
	if toggle.level.Level() != slog.LevelWarn {
		t.Errorf("level %v, want WARN", toggle.level.Level())
	}
}

func TestToggleAtDebugChangesNothing(t *testing.T) {
	t.Parallel()
	_, toggle, buf, clock := newTestLogger(slog.LevelDebug)
	toggle.Toggle(TriggerSignal)
	if toggle.level.Level() != slog.LevelDebug || clock.pending() != 0 {
		t.Fatalf("level %v with %d timers, want DEBUG and none", toggle.level.Level(), clock.pending())
	}
	wantLines(t, buf, "level=INFO msg=Log level unchanged level=DEBUG trigger=SIGUSR1 reason=configured level already includes debug")
}

// TestToggleConcurrent checks, under -race, that concurrent toggles and
// timer firings keep the log consistent: every line flips the level the
// previous line left.
func TestToggleConcurrent(t *testing.T) {
	t.Parallel()
	_, toggle, buf, clock := newTestLogger(slog.LevelInfo)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				toggle.Toggle(TriggerSignal)
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			clock.Advance(10 * time.Minute)
		}
	})
	wg.Wait()
	next := "DEBUG"
	for i, l := range buf.lines(t) {
		if l.get("to") != next {
			t.Fatalf("line %d goes to %s, want %s: %v", i, l.get("to"), next, l)
		}
		next = map[string]string{"DEBUG": "INFO", "INFO": "DEBUG"}[next]
	}
	wantLevel := map[string]slog.Level{"DEBUG": slog.LevelInfo, "INFO": slog.LevelDebug}[next]
	if toggle.level.Level() != wantLevel {
		t.Errorf("level %v does not match the last logged change", toggle.level.Level())
	}
}

func TestHandleSignals(t *testing.T) {
	t.Parallel()
	_, toggle, buf, _ := newTestLogger(slog.LevelInfo)
	ch := make(chan os.Signal)
	done := make(chan struct{})
	go func() {
		toggle.HandleSignals(context.Background(), ch)
		close(done)
	}()
	ch <- os.Interrupt // any signal on ch toggles; Watch subscribes SIGUSR1 only
	ch <- os.Interrupt // unbuffered: the first toggle has been taken
	close(ch)
	<-done
	wantLines(t, buf, upFromInfo, downBySignal)
}
