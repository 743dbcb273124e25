package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes, written with a binary unit ("64MiB",
// "1GiB", "512KiB") or as a plain number of bytes.
type ByteSize int64

// byteUnits are the accepted suffixes, largest first.
var byteUnits = []struct {
	suffix string
	size   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1},
}

// ParseByteSize reads "64MiB", "1GiB", "4096" or "4096B".
func ParseByteSize(s string) (ByteSize, error) {
	raw := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(raw, u.suffix); ok {
			raw, mult = strings.TrimSpace(num), u.size
			break
		}
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("cannot parse %q as a size (like 64MiB, 1GiB or a number of bytes)", s)
	}
	return ByteSize(n * mult), nil
}

// String writes the size with the largest unit that divides it.
func (b ByteSize) String() string {
	for _, u := range byteUnits {
		if b != 0 && int64(b)%u.size == 0 {
			if u.size == 1 {
				return strconv.FormatInt(int64(b), 10)
			}
			return strconv.FormatInt(int64(b)/u.size, 10) + u.suffix
		}
	}
	return "0"
}

// UnmarshalText lets YAML files write sizes with units.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalText writes the size as String does.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }
