package crew

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// ErrInvalidSize is returned (wrapped) by ParseSize for text that is not a
// size.
var ErrInvalidSize = errors.New("invalid size")

// sizeUnits maps a lower-case unit to its multiplier: decimal SI units (as
// disk vendors and the upstream quotas.yaml use them) and binary IEC units.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kb":  1e3,
	"mb":  1e6,
	"gb":  1e9,
	"tb":  1e12,
	"pb":  1e15,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
	"pib": 1 << 50,
}

// ParseSize parses a byte size such as "5GB", "1.5 TB", "512MiB" or "1024":
// a non-negative decimal number, optional spaces and a unit (B, KB, MB, GB,
// TB, PB are powers of 1000; KiB, MiB, GiB, TiB, PiB powers of 1024; case is
// ignored). Fractions are exact and rounded down to whole bytes. Sizes above
// math.MaxInt64 bytes are refused.
func ParseSize(s string) (int64, error) {
	text := strings.TrimSpace(s)
	end := 0
	for end < len(text) && (text[end] >= '0' && text[end] <= '9' || text[end] == '.') {
		end++
	}
	num, unit := text[:end], strings.ToLower(strings.TrimSpace(text[end:]))
	if num == "" || strings.Count(num, ".") > 1 || strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") {
		return 0, fmt.Errorf("%w: %q: want a number followed by a unit such as GB or GiB", ErrInvalidSize, s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("%w: %q: unknown unit %q (B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)", ErrInvalidSize, s, unit)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrInvalidSize, s)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	bytes := new(big.Int).Quo(r.Num(), r.Denom()) // floor: both are non-negative
	if !bytes.IsInt64() {
		return 0, fmt.Errorf("%w: %q is larger than %d bytes", ErrInvalidSize, s, int64(math.MaxInt64))
	}
	return bytes.Int64(), nil
}

// FormatBytes renders a byte count for people in decimal units with one
// decimal place ("5.0 GB", "512 B"), the form listTiers reports.
func FormatBytes(n int64) string {
	if n < 1000 && n > -1000 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n)
	i := -1
	for math.Abs(v) >= 999.95 && i < len(units)-1 { // 999.95 rounds up to the next unit
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
