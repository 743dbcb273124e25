package main

import (
	"fmt"
	"strconv"
	"strings"
)

// maxSize bounds -size: the bench uses 500 MiB, and a typo should not fill
// the disk.
const maxSize = 64 << 30

// parseSize reads "52428800", "50MiB", "1GiB" or "512KiB".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a non-negative integer with an optional KiB/MiB/GiB suffix", s)
	}
	if n > maxSize/mult {
		return 0, fmt.Errorf("size %q is over the %d GiB limit", s, maxSize>>30)
	}
	return n * mult, nil
}
