// Package testclock is the settable clock tests hand to code that takes a
// Now function: it starts where the test says and moves only when the test
// advances it. Safe for concurrent use (servers under test read it from
// their own goroutines).
package testclock
