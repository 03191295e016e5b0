package nets

import "math"

// fma64Emulated returns x*y + z rounded once, as math.FMA does, from plain
// float64 operations: faster than math.FMA where it has no instruction to
// use (wasm, where it is integer arithmetic on the mantissas). It is
// Boldo and Melquiond's emulated FMA ("Emulation of FMA and correctly
// rounded sums: proved algorithms using rounding to odd", IEEE Trans.
// Computers 57(4), 2008, algorithm 5.4): the exact product uh + ul
// (Dekker's product with Veltkamp's split), th + tl = z + uh exactly
// (Knuth's TwoSum), v = tl + ul rounded to odd, and th + v rounded to
// nearest. The proof needs every intermediate away from overflow and
// underflow; operands outside that range, infinities and NaNs take
// math.FMA. TestFMA64Emulated checks it against math.FMA.
func fma64Emulated(x, y, z float64) float64 {
	const (
		hi = 0x1p900  // products and sums stay far below overflow
		lo = 0x1p-900 // and their low parts far above the subnormals
	)
	uh := float64(x * y)
	if x == 0 || y == 0 {
		return float64(uh + z) // the product is an exact zero (or NaN)
	}
	if ax, ay, au, az := math.Abs(x), math.Abs(y), math.Abs(uh), math.Abs(z); !(au > lo && au < hi && ax < hi && ay < hi && az < hi) || (az != 0 && az < lo) {
		return math.FMA(x, y, z)
	}
	// Dekker's exact product: uh + ul = x*y.
	const split = 0x1p27 + 1
	cx := float64(split * x)
	xh := float64(cx - float64(cx-x))
	xl := float64(x - xh)
	cy := float64(split * y)
	yh := float64(cy - float64(cy-y))
	yl := float64(y - yh)
	ul := float64(float64(float64(float64(xh*yh)-uh)+float64(xh*yl)+float64(xl*yh)) + float64(xl*yl))
	// TwoSum: th + tl = z + uh.
	th := float64(z + uh)
	bb := float64(th - z)
	tl := float64(float64(z-float64(th-bb)) + float64(uh-bb))
	// v = tl + ul rounded to odd: rounded to nearest, then, when inexact
	// and even, moved to the neighbour on the side of the error.
	v := float64(tl + ul)
	vb := float64(v - tl)
	e := float64(float64(tl-float64(v-vb)) + float64(ul-vb))
	if b := math.Float64bits(v); e != 0 && b&1 == 0 {
		if (e > 0) == (v > 0) {
			b++
		} else {
			b--
		}
		v = math.Float64frombits(b)
	}
	return float64(th + v)
}
