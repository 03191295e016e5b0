package cascade

import (
	"fmt"
	"math"
)

// PyramidPixels returns the pixels of all P-Net pyramid levels of a w x h
// image under opts (zero fields meaning the defaults), counting no further
// than just past MaxPyramidPixels, and the pixels of its largest level.
// Invalid options or an empty image give 0, 0.
func PyramidPixels(w, h int, opts Options) (total, largest int64) {
	if opts.Validate() != nil || w <= 0 || h <= 0 {
		return 0, 0
	}
	o := opts.withDefaults()
	side := float32(min(h, w))
	for scale := float32(12) / o.MinSize; float32(side*scale) > 12; scale = float32(scale * o.Factor) {
		n := int64(float32(float32(h)*scale)) * int64(float32(float32(w)*scale))
		largest = max(largest, n)
		total += n
		if total > MaxPyramidPixels {
			break
		}
	}
	return total, largest
}

// SmallestMinSize returns the smallest whole MinSize at which a w x h
// image's pyramid, with the given factor (0 meaning the default), stays
// within MaxPyramidPixels. It is 1 when every MinSize fits, and never more
// than the image's shorter side, where the pyramid is empty. It returns 0
// when w or h is not positive or factor is not in [0, 1).
func SmallestMinSize(w, h int, factor float32) int {
	if w <= 0 || h <= 0 || math.IsNaN(float64(factor)) || factor < 0 || factor >= 1 {
		return 0
	}
	fits := func(m int) bool {
		total, _ := PyramidPixels(w, h, Options{MinSize: float32(m), Factor: factor})
		return total <= MaxPyramidPixels
	}
	// The pyramid shrinks as MinSize grows, and at the shorter side it has
	// no level at all, so a binary search between 1 and the side finds the
	// smallest MinSize that fits.
	lo, hi := 1, max(min(w, h), 1)
	if fits(lo) {
		return lo
	}
	for hi-lo > 1 { // fits(hi) and !fits(lo)
		mid := lo + (hi-lo)/2
		if fits(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// CheckPyramid reports, as an error wrapping both ErrOptions and
// ErrTooLarge, options whose pyramid for a w x h image would exceed
// MaxPyramidPixels, naming the smallest usable MinSize at that factor;
// Detect would refuse such a detection. It returns the options'
// Validate error if they are invalid, and nil when they fit.
func CheckPyramid(w, h int, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	total, _ := PyramidPixels(w, h, opts)
	if total <= MaxPyramidPixels {
		return nil
	}
	o := opts.withDefaults()
	return fmt.Errorf("%w: %w: min size %v with factor %v needs more than %d pyramid pixels for a %dx%d image; "+
		"the smallest usable min size for this image at this factor is %d (or use a smaller factor)",
		ErrOptions, ErrTooLarge, o.MinSize, o.Factor, MaxPyramidPixels, w, h, SmallestMinSize(w, h, o.Factor))
}
