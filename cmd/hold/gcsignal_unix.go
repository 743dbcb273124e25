//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// gcTrigger delivers SIGUSR2, the operator's "collect now" for a running
// hold, until stop is called.
func gcTrigger() (trigger <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	return ch, func() { signal.Stop(ch) }
}
