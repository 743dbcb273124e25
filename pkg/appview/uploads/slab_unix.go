//go:build unix

package uploads

import "golang.org/x/sys/unix"

// mapSlab maps n bytes of anonymous memory outside the Go heap, or returns
// nil (the caller then uses heap buffers).
func mapSlab(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	return b
}

// releaseSlab gives the slab's pages back to the kernel; the mapping stays
// valid (the next write faults in a zero page).
func releaseSlab(b []byte) {
	_ = unix.Madvise(b, unix.MADV_DONTNEED)
}
