//go:build !unix

package uploads

// mapSlab: no anonymous mappings here; heap buffers are used.
func mapSlab(int) []byte { return nil }

func releaseSlab([]byte) {}
