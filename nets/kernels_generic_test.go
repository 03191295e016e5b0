//go:build !amd64 || purego

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

// TestMaxIntoKernel checks maxInto against its generic specification bit
// for bit on every channel count up to 70 (every tail width), with values
// of both signs and zeros.
func TestMaxIntoKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	val := func() float32 { return edgeValue(r, false) }
	for c := 1; c <= 70; c++ {
		{
			dst := make([]float32, c+1)
			src := make([]float32, c+1)
			for i := range dst {
				dst[i], src[i] = val(), val()
			}
			wantMax := append([]float32(nil), dst...)
			maxIntoGeneric(wantMax[:c], src[:c])
			maxInto(dst[:c], src[:c])
			for i := range dst {
				if math.Float32bits(dst[i]) != math.Float32bits(wantMax[i]) {
					t.Fatalf("maxInto c=%d: dst[%d] = %v, want %v", c, i, dst[i], wantMax[i])
				}
			}
		}
	}
}
