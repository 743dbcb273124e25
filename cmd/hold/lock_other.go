//go:build !unix

package main

import "errors"

var errLocked = errors.New("the data directory is in use by a running hold")

// dataDirLock is a no-op where flock(2) is missing: the operator must make
// sure gc and repo import do not run next to a running hold.
type dataDirLock struct{}

func lockDataDir(string) (*dataDirLock, error) { return &dataDirLock{}, nil }

func (*dataDirLock) unlock() {}
