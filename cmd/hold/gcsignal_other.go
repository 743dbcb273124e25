//go:build !unix

package main

import "os"

// gcTrigger never fires where SIGUSR2 does not exist; use gc.interval.
func gcTrigger() (trigger <-chan os.Signal, stop func()) {
	return nil, func() {}
}
