package nets

import (
	"math"
	"runtime"
	"sync"
	"testing"
)

// TestExpNeg checks expNeg against its specification, float32(expFMA),
// bit for bit on every float32 argument from -110 to -2**-30 (below, both
// round to 0; above, to 1; those ends and the special values are checked
// too), NaNs as NaNs. With -short it checks every 61st argument.
func TestExpNeg(t *testing.T) {
	if !expNegVector() {
		t.Skip("expNeg is its specification here")
	}
	lo, hi := math.Float32bits(-0x1p-30), math.Float32bits(-110)
	step := uint32(1)
	if testing.Short() {
		step = 61
	}
	check := func(src []float32) bool {
		got, want := make([]float32, len(src)), make([]float32, len(src))
		expNeg(got, src)
		expNegGeneric(want, src)
		for i := range src {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Errorf("exp(%v) = %v, want %v", src[i], got[i], want[i])
				return false
			}
		}
		return true
	}
	special := []float32{0, float32(math.Copysign(0, -1)), -0x1p-149, -0x1p-40, -0x1p-31, -109.99, -110, -110.01, -200,
		-1e30, float32(math.Inf(-1)), float32(math.NaN()), -float32(math.NaN()), -1, -0.5, -1e-3, -87.3, -103.97, -104}
	check(special)
	// The range in chunks, over all cores.
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := false
	const chunk = 1 << 16
	next := lo
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := make([]float32, 0, chunk)
			for {
				mu.Lock()
				start := next
				if start > hi || failed {
					mu.Unlock()
					return
				}
				next = start + chunk*step
				mu.Unlock()
				src = src[:0]
				for b := start; b <= hi && b < start+chunk*step; b += step {
					src = append(src, math.Float32frombits(b))
				}
				if !check(src) {
					mu.Lock()
					failed = true
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestExpFMAMatchesMathExp checks expFMA against math.Exp where math.Exp
// runs the method expFMA writes out (amd64 with FMA): bit for bit on every
// 7th float32 from -110 to -2**-30 (the softmax's arguments) and on random
// and special float64 arguments over the whole range, overflow and
// subnormal results included.
func TestExpFMAMatchesMathExp(t *testing.T) {
	if runtime.GOARCH != "amd64" || !hasFMA {
		t.Skip("math.Exp takes another method here; expFMA is the specification")
	}
	check := func(x float64) bool {
		got, want := expFMA(x), math.Exp(x)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("expFMA(%v) = %v, math.Exp: %v", x, got, want)
			return false
		}
		return true
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 709.78, 709.79, 710, -745.1, -745.2, -746, -761.9, -762,
		-763, -1e300, 1e300, -708.4, -708.3, -720, -740, 1e-300, -1e-300, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64} {
		check(x)
	}
	r := uint64(12345)
	for range 1 << 20 {
		r ^= r << 13
		r ^= r >> 7
		r ^= r << 17
		x := (float64(r>>11)/(1<<53))*1500 - 780 // [-780, 720)
		if !check(x) {
			return
		}
	}
	lo, hi := math.Float32bits(-0x1p-30), math.Float32bits(-110)
	for b := lo; b <= hi; b += 7 {
		if !check(float64(math.Float32frombits(b))) {
			return
		}
	}
}
