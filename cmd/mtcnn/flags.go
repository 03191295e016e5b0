package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mtcnn-go/mtcnn/internal/cliflag"
)

// parseInterspersed parses flags before or after the positional
// arguments (cliflag.Interspersed).
var parseInterspersed = cliflag.Interspersed

// byteSize is a flag holding a size in bytes, written as a number with
// an optional unit: B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB,
// TiB (powers of 1024), as in 700MB or 1.5GiB. A bare number is bytes.
type byteSize int64

// byteUnits are the units byteSize accepts, longest first for matching.
var byteUnits = []struct {
	suffix string
	n      float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (b *byteSize) String() string {
	if b == nil || *b == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Set(s string) error {
	num, mult := strings.TrimSpace(s), 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.n
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v*mult >= 1) || !(v*mult < math.MaxInt64) {
		return fmt.Errorf("%q is not a positive size: write bytes or a number with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 700MB", s)
	}
	*b = byteSize(v * mult)
	return nil
}
