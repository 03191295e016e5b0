package nets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFMA64Emulated checks the float64 emulation of the fused multiply-add
// against math.FMA bit for bit: random operands over a wide range of
// exponents, products that cancel z, results halfway between two float64
// values, the operands expFMA passes, zeros, infinities and NaNs.
func TestFMA64Emulated(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	val := func(e int) float64 { return math.Ldexp(r.Float64()*2-1, r.IntN(2*e+1)-e) }
	check := func(x, y, z float64) {
		got, want := fma64Emulated(x, y, z), math.FMA(x, y, z)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("fma64Emulated(%b, %b, %b) = %b, want %b", x, y, z, got, want)
		}
	}
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range [][3]float64{
		{0, 1, 0}, {math.Copysign(0, -1), 1, 0}, {0, -1, 0}, {0, 1, math.Copysign(0, -1)},
		{1, 1, -1}, {inf, 0, 1}, {inf, 1, -inf}, {nan, 1, 1}, {1, 1, nan}, {2, 3, inf},
		{0x1p-1000, 0x1p-100, 1}, {0x1p600, 0x1p600, 1}, {1 + 0x1p-52, 1 - 0x1p-52, -1},
		{1 + 0x1p-30, 1 + 0x1p-30, -(1 + 0x1p-29)},
	} {
		check(c[0], c[1], c[2])
	}
	n := 500_000
	if testing.Short() {
		n = 50_000
	}
	for range n {
		x, y := val(60), val(60)
		check(x, y, val(120))
		// Cancellation: z about -x*y.
		check(x, y, -float64(x*y)*(1+val(0)*0x1p-40))
		// Halfway cases: x*y = z's half ulp times (1 ± tiny).
		z := val(60)
		h := math.Ldexp(1, math.Ilogb(z)-53)
		check(h*(1+0x1p-52), 1-0x1p-52, z)
		check(-h, 1+0x1p-52, z)
		// What expFMA computes: reduction by k*ln2 and the Horner steps.
		k := float64(r.IntN(2201) - 1100)
		check(-k, 0.28235290563031577122588448175013436025525412068e-12, val(3))
		check(val(0)*0.03, val(0)*0.03, val(0)*0x1p-4+1)
		// Wide exponents, near the fallback's limits.
		check(val(1000), val(20), val(1000))
	}
}

func BenchmarkFMA64Emulated(b *testing.B) {
	x, y, z := 0.0123456789, 1.3888888888888888889e-3, 8.3333333333333333333e-3
	for b.Loop() {
		z = fma64Emulated(x, y, z) * 0.5
	}
	_ = z
}

func BenchmarkMathFMA(b *testing.B) {
	x, y, z := 0.0123456789, 1.3888888888888888889e-3, 8.3333333333333333333e-3
	for b.Loop() {
		z = math.FMA(x, y, z) * 0.5
	}
	_ = z
}
