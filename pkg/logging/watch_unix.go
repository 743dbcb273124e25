//go:build unix

package logging

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Watch subscribes to SIGUSR1 before returning and toggles on each signal
// until ctx is done, when the default signal handling is restored.
func (t *LevelToggle) Watch(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(ch)
		t.HandleSignals(ctx, ch)
	}()
}
