// Package syncbuf is test support: a bytes.Buffer that several goroutines
// may write to at once (a logger's handlers, a process's stdout and
// stderr) while a test reads what arrived.
package syncbuf
