package nets

import (
	"math"
	"runtime"
	"sync"
	"testing"
)

// TestExpNeg checks expNeg against its specification, float32(math.Exp),
// bit for bit on every float32 argument from -110 to -2**-30 (below, both
// round to 0; above, to 1; those ends and the special values are checked
// too), NaNs as NaNs. With -short it checks every 61st argument.
func TestExpNeg(t *testing.T) {
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
