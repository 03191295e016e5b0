package cascade

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mtcnn-go/mtcnn/nets"
)

// Options are the cascade's parameters. The zero value of each field means
// its default, so Options{} and DefaultOptions() detect alike; set only what
// you want to change, e.g. Options{MinSize: 40}.
type Options struct {
	// MinSize is the smallest face side, in pixels, the pyramid looks for.
	// Zero means 20 (the MTCNN article's value; its service used 40).
	MinSize float32
	// Factor is the pyramid's scale step, in (0, 1). Zero means 0.709.
	Factor float32
	// Thresholds are the P-Net, R-Net and O-Net score thresholds, each in
	// [0, 1]; a candidate is kept when its score is strictly greater. All
	// zeros means 0.6, 0.7, 0.7.
	Thresholds [3]float32
	// FMA lets the networks fuse each multiply and add into one rounding
	// where there are fused multiply-add kernels (amd64 with FMA3, and
	// arm64; elsewhere it has no effect; see nets.FMAAvailable). Detection then runs faster
	// and its results move off the reference's by rounding only: on the
	// reference images by at most 0.0032 px and 2e-6 in score, with the
	// same faces. A face whose score sits that close to a threshold may
	// appear or vanish. False, the default, reproduces the reference bit
	// for bit on every platform.
	FMA bool
}

// DefaultOptions returns the options of the reference detector: min size 20,
// factor 0.709, thresholds 0.6, 0.7, 0.7.
func DefaultOptions() Options {
	return Options{MinSize: 20, Factor: 0.709, Thresholds: [3]float32{0.6, 0.7, 0.7}}
}

// mode is the networks' arithmetic the options ask for.
func (o Options) mode() nets.Mode {
	if o.FMA {
		return nets.FMA
	}
	return nets.Exact
}

// ErrOptions is wrapped by the error Validate returns for invalid options.
var ErrOptions = errors.New("invalid options")

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MinSize == 0 {
		o.MinSize = d.MinSize
	}
	if o.Factor == 0 {
		o.Factor = d.Factor
	}
	if o.Thresholds == [3]float32{} {
		o.Thresholds = d.Thresholds
	}
	return o
}

// Validate reports whether the options, after defaults are applied, are
// usable: MinSize >= 1, Factor in (0, 1), every threshold in [0, 1].
func (o Options) Validate() error {
	o = o.withDefaults()
	bad := func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }
	switch {
	case bad(o.MinSize) || o.MinSize < 1:
		return fmt.Errorf("%w: min size %v must be at least 1", ErrOptions, o.MinSize)
	case bad(o.Factor) || o.Factor <= 0 || o.Factor >= 1:
		return fmt.Errorf("%w: factor %v must be in (0, 1)", ErrOptions, o.Factor)
	}
	for i, t := range o.Thresholds {
		if bad(t) || t < 0 || t > 1 {
			return fmt.Errorf("%w: threshold %d is %v, must be in [0, 1]", ErrOptions, i+1, t)
		}
	}
	return nil
}

// ParseThresholds parses the text form of Options.Thresholds: three
// comma-separated numbers ("0.6,0.7,0.7"), spaces allowed around each. It
// checks the syntax only; Validate checks the range. Errors wrap
// ErrOptions.
func ParseThresholds(s string) ([3]float32, error) {
	var out [3]float32
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return out, fmt.Errorf("%w: thresholds %q must be three comma-separated numbers", ErrOptions, s)
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return out, fmt.Errorf("%w: threshold %q is not a number", ErrOptions, p)
		}
		out[i] = float32(f)
	}
	return out, nil
}
