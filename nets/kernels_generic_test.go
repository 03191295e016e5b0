//go:build !(amd64 || (wasm && goexperiment.simd && go1.27)) || purego

package nets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBiasPReLUKernel checks biasPReLU (the separate pass that follows
// gemmSeg where the kernels have no epilogue) against its specification bit
// for bit on every channel count up to 70, with values of both signs and
// zeros.
func TestBiasPReLUKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	val := func() float32 { return edgeValue(r, false) }
	for c := 1; c <= 70; c++ {
		for _, pixels := range []int{1, 2, 5} {
			x := make([]float32, pixels*c+1) // one extra element after the last run
			bias, alpha := make([]float32, c), make([]float32, c)
			for i := range x {
				x[i] = val()
			}
			for i := range bias {
				bias[i], alpha[i] = val(), val()
			}
			want := append([]float32(nil), x...)
			biasPReLUGeneric(want[:pixels*c], bias, alpha)
			biasPReLU(x[:pixels*c], bias, alpha)
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
					t.Fatalf("biasPReLU c=%d pixels=%d: x[%d] = %v, want %v", c, pixels, i, x[i], want[i])
				}
			}
		}
	}
}
