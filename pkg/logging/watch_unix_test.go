//go:build unix

package logging

import (
	"context"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"
)

// waitLevel polls until the toggle reaches want; the signal is delivered
// asynchronously. The deadline only stops a broken test from hanging.
func waitLevel(t *testing.T, toggle *LevelToggle, want slog.Level) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for toggle.level.Level() != want {
		if time.Now().After(deadline) {
			t.Fatalf("level still %v, want %v", toggle.level.Level(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchSIGUSR1(t *testing.T) {
	_, toggle, buf, _ := newTestLogger(slog.LevelInfo)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	toggle.Watch(ctx)

	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitLevel(t, toggle, slog.LevelDebug)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitLevel(t, toggle, slog.LevelInfo)
	wantLines(t, buf, upFromInfo, downBySignal)
}
