package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/detopts"
)

// parseInterspersed parses flags that may come before or after the
// positional arguments ("convert in.pb -o out" as well as "convert -o out
// in.pb") and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// textFlag is a string flag that remembers whether it was given, so
// that an explicit value is told apart from the default.
type textFlag struct {
	value string
	def   string // shown by -h
	set   bool
}

func (t *textFlag) String() string {
	if t == nil {
		return ""
	}
	if t.set {
		return t.value
	}
	return t.def
}

func (t *textFlag) Set(s string) error {
	t.value, t.set = s, true
	return nil
}

// given returns the value, or nil when the flag was not given.
func (t *textFlag) given() *string {
	if !t.set {
		return nil
	}
	return &t.value
}

// optionFlags are the detection option flags, -min-size, -factor and
// -thresholds, checked by internal/detopts with the HTTP API's rules: a
// flag not given means the default, an explicit value is honoured or
// refused, never replaced.
type optionFlags struct {
	minSize, factor, thresholds textFlag
}

// addOptionFlags defines the detection option flags on fs.
func addOptionFlags(fs *flag.FlagSet) *optionFlags {
	def := cascade.DefaultOptions()
	o := &optionFlags{
		minSize:    textFlag{def: "20"},
		factor:     textFlag{def: "0.709"},
		thresholds: textFlag{def: fmt.Sprintf("%g,%g,%g", def.Thresholds[0], def.Thresholds[1], def.Thresholds[2])},
	}
	fs.Var(&o.minSize, "min-size", "smallest face side in `pixels`, at least 1")
	fs.Var(&o.factor, "factor", "pyramid scale step `ratio`, above 0 and below 1")
	fs.Var(&o.thresholds, "thresholds", "P-Net, R-Net, O-Net score thresholds `a,b,c`, each in [0, 1] (0,0,0 keeps every candidate)")
	return o
}

// options returns the options the flags give; errors wrap
// cascade.ErrOptions and name the flag and its range.
func (o *optionFlags) options() (cascade.Options, error) {
	return detopts.Parse(detopts.Text{
		MinSize: o.minSize.given(), Factor: o.factor.given(), Thresholds: o.thresholds.given(),
	}, detopts.Flags)
}

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
