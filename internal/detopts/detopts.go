// Package detopts reads detection options from text, as the HTTP query
// parameters (min_size, factor, thresholds) and the CLI flags (-min-size,
// -factor, -thresholds) give them, for both: one set of rules, one set of
// messages.
//
// Unlike cascade.Options, whose zero fields mean the defaults, an option
// given explicitly is honoured or refused, never silently replaced: an
// absent (nil) value means the default, while an explicit min size or
// factor of 0 is refused as out of range. Explicit thresholds 0,0,0 are
// honoured: every stage keeps every candidate with a score above 0. Since
// cascade.Options reads all-zero thresholds as the defaults, they are
// passed on as 0, 0, math.SmallestNonzeroFloat32 (about 1.4e-45), the
// smallest float32 above 0; the kept faces differ from "above 0" only for
// an O-Net score of exactly that value.
package detopts

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// Names are how the options are spelled where they come from, for the
// error messages.
type Names struct {
	MinSize, Factor, Thresholds string
}

// Query names the options as the HTTP API's query parameters.
var Query = Names{MinSize: "min_size", Factor: "factor", Thresholds: "thresholds"}

// Flags names the options as the CLI's flags.
var Flags = Names{MinSize: "-min-size", Factor: "-factor", Thresholds: "-thresholds"}

// Text holds the options as given; a nil field was not given.
type Text struct {
	MinSize, Factor, Thresholds *string
}

// Parse turns t into cascade.Options. Every error wraps
// cascade.ErrOptions and names the option, its value and the allowed
// range.
func Parse(t Text, n Names) (cascade.Options, error) {
	var o cascade.Options
	def := cascade.DefaultOptions()
	if t.MinSize != nil {
		v, err := number(n.MinSize, *t.MinSize)
		if err != nil {
			return o, err
		}
		if !(v >= 1) || math.IsInf(float64(v), 0) {
			return o, fmt.Errorf("%w: %s %s is out of range: it must be a number of pixels of at least 1 (default %g)",
				cascade.ErrOptions, n.MinSize, strings.TrimSpace(*t.MinSize), def.MinSize)
		}
		o.MinSize = v
	}
	if t.Factor != nil {
		v, err := number(n.Factor, *t.Factor)
		if err != nil {
			return o, err
		}
		if !(v > 0 && v < 1) {
			return o, fmt.Errorf("%w: %s %s is out of range: it must be above 0 and below 1 (default %g)",
				cascade.ErrOptions, n.Factor, strings.TrimSpace(*t.Factor), def.Factor)
		}
		o.Factor = v
	}
	if t.Thresholds != nil {
		parts := strings.Split(*t.Thresholds, ",")
		if len(parts) != 3 {
			return o, fmt.Errorf("%w: %s %q must be three comma-separated numbers, each in [0, 1] (default %g,%g,%g)",
				cascade.ErrOptions, n.Thresholds, *t.Thresholds, def.Thresholds[0], def.Thresholds[1], def.Thresholds[2])
		}
		for i, p := range parts {
			v, err := number(fmt.Sprintf("%s value %d", n.Thresholds, i+1), p)
			if err != nil {
				return o, err
			}
			if !(v >= 0 && v <= 1) {
				return o, fmt.Errorf("%w: %s value %d (%s) is out of range: each threshold must be in [0, 1] (default %g,%g,%g)",
					cascade.ErrOptions, n.Thresholds, i+1, strings.TrimSpace(p), def.Thresholds[0], def.Thresholds[1], def.Thresholds[2])
			}
			o.Thresholds[i] = v
		}
		if o.Thresholds == [3]float32{} {
			o.Thresholds[2] = math.SmallestNonzeroFloat32
		}
	}
	if err := o.Validate(); err != nil {
		// Unreachable with the checks above; kept so a future cascade
		// rule cannot be bypassed.
		return cascade.Options{}, err
	}
	return o, nil
}

// number parses one float32 option value.
func number(name, s string) (float32, error) {
	// An overflow parses as an infinity, which the range checks refuse
	// with a better message than "not a number".
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) {
		return 0, fmt.Errorf("%w: %s %q is not a number", cascade.ErrOptions, name, s)
	}
	return float32(f), nil
}

// CheckImage refuses, with an error wrapping cascade.ErrOptions and
// cascade.ErrTooLarge, options whose pyramid for a w x h image would
// exceed cascade.MaxPyramidPixels, naming the smallest usable min size
// for that image at the options' factor. It returns nil when they fit.
func CheckImage(w, h int, o cascade.Options, n Names) error {
	if err := o.Validate(); err != nil {
		return err
	}
	total, _ := cascade.PyramidPixels(w, h, o)
	if total <= cascade.MaxPyramidPixels {
		return nil
	}
	def := cascade.DefaultOptions()
	minSize, factor := o.MinSize, o.Factor
	if minSize == 0 {
		minSize = def.MinSize
	}
	if factor == 0 {
		factor = def.Factor
	}
	return fmt.Errorf("%w: %w: %s %g with %s %g is too small for this %dx%d image (its pyramid would exceed %d pixels): "+
		"%s must be at least %d for this image at this %s, or use a smaller %s",
		cascade.ErrOptions, cascade.ErrTooLarge, n.MinSize, minSize, n.Factor, factor, w, h, cascade.MaxPyramidPixels,
		n.MinSize, cascade.SmallestMinSize(w, h, factor), n.Factor, n.Factor)
}
