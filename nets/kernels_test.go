package nets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxWindowsKernel checks maxWindows against its specification bit for
// bit: every channel count up to 70, window shapes from 1x1 to 3x3 (the
// clipped and whole windows of MTCNN's pools), strides 1 to 3, and inputs
// with zeros of both signs, ties and NaNs.
func TestMaxWindowsKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	val := func() float32 {
		switch r.IntN(10) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		case 2:
			return float32(math.NaN())
		case 3:
			return 1
		}
		return r.Float32()*4 - 2
	}
	for c := 1; c <= 70; c++ {
		for _, n := range []int{1, 2, 7} {
			for rows := 1; rows <= 3; rows++ {
				for cols := 1; cols <= 3; cols++ {
					stride := 1 + r.IntN(3)
					w := n*stride + cols + r.IntN(3)
					offs := windowOffsets(nil, rows, cols, w*c, c)
					src := make([]float32, rows*w*c+1)
					for i := range src {
						src[i] = val()
					}
					got := make([]float32, n*c+1)
					want := make([]float32, n*c+1)
					got[n*c], want[n*c] = 42, 42 // after the last window
					maxWindowsGeneric(want, src, n, c, stride*c, offs)
					maxWindows(got, src, n, c, stride*c, offs)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("c=%d n=%d window %dx%d stride %d: dst[%d] = %v, want %v", c, n, rows, cols, stride, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
