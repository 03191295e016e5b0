package nets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxIntoKernel checks maxInto against its generic specification bit
// for bit on every channel count up to 70 (every tail width), with values
// of both signs and zeros.
func TestMaxIntoKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	val := func() float32 {
		switch r.IntN(6) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		}
		return r.Float32()*4 - 2
	}
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
