package nets

import "math"

// expFMA is math.Exp as Go's amd64 assembly computes it on a CPU with FMA
// (src/math/exp_amd64.s): Shibata's method, argument reduction by k*ln(2)
// in two fused steps, a Taylor series in Horner form of fused
// multiply-adds, four doublings, scaling by 2**k. Written out with
// math.FMA, which rounds once on every architecture, it gives the same
// bits everywhere, where math.Exp itself uses other methods on other CPUs
// (a different series without FMA, another algorithm on arm64 and wasm),
// whose results can differ in the last bit; the nets' softmax uses it so
// that their outputs are the same on every architecture by construction.
// TestExpFMAMatchesMathExp checks it against math.Exp on amd64 with FMA.
func expFMA(x float64) float64 {
	const (
		log2e    = 1.4426950408889634073599246810018920
		ln2u     = 0.69314718055966295651160180568695068359375
		ln2l     = 0.28235290563031577122588448175013436025525412068e-12
		overflow = 7.09782712893384e+02
	)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case x < -762:
		// k below -1099: the scaling underflows to 0, as in the assembly;
		// returning here keeps k's conversion in range (-Inf included).
		return 0
	case x > overflow:
		return math.Inf(1)
	}
	// CVTSD2SL rounds to nearest, ties to even; every finite x below the
	// overflow bound gives a k that fits.
	k := int32(math.RoundToEven(x * log2e))
	kf := float64(k)
	x = fma64(-kf, ln2u, x)
	x = fma64(-kf, ln2l, x)
	x *= 0.0625
	p := 2.4801587301587301587e-5
	p = fma64(p, x, 1.9841269841269841270e-4)
	p = fma64(p, x, 1.3888888888888888889e-3)
	p = fma64(p, x, 8.3333333333333333333e-3)
	p = fma64(p, x, 4.1666666666666666667e-2)
	p = fma64(p, x, 1.6666666666666666667e-1)
	p = fma64(p, x, 0.5)
	p = fma64(p, x, 1.0)
	x *= p
	for range 3 {
		x *= x + 2
	}
	x = fma64(x, x+2, 1)
	// Times 2**k, through a subnormal scale in two steps as the assembly
	// does.
	switch b := k + 0x3ff; {
	case b >= 0x7ff:
		return math.Inf(1)
	case b > 0:
		return x * math.Float64frombits(uint64(b)<<52)
	case b < -52:
		return 0
	default:
		x *= math.Float64frombits(uint64(b+0x3fe) << 52)
		return x * math.Float64frombits(1<<52)
	}
}
