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
	val := func() float32 { return edgeValue(r, true) }
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

// maxPoolPlain is TensorFlow's MaxPool written out per output value: the
// window's real inputs row by row, a later one replacing the max only when
// greater.
func maxPoolPlain(in []float32, s shape4, p pool, out []float32) {
	oh, ph := poolOut(s.h, p.k, p.s, p.same)
	ow, pw := poolOut(s.w, p.k, p.s, p.same)
	for b := 0; b < s.n; b++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for c := 0; c < s.c; c++ {
					first := true
					var m float32
					for iy := max(y*p.s-ph, 0); iy < min(y*p.s-ph+p.k, s.h); iy++ {
						for ix := max(x*p.s-pw, 0); ix < min(x*p.s-pw+p.k, s.w); ix++ {
							v := in[((b*s.h+iy)*s.w+ix)*s.c+c]
							if first || v > m {
								m, first = v, false
							}
						}
					}
					out[((b*oh+y)*ow+x)*s.c+c] = m
				}
			}
		}
	}
}

// TestConvPoolMatchesSeparate checks the fused convolution and pool
// against conv2d then maxPoolPlain bit for bit: SAME and VALID pools of the
// nets' window sizes, odd and even sizes, batches, maps small enough for
// one chunk per image and wide enough for several.
func TestConvPoolMatchesSeparate(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, p := range []pool{{2, 2, false}, {3, 2, true}, {3, 2, false}, {2, 2, true}} {
		for _, sz := range [][4]int{{1, 12, 12, 3}, {3, 24, 24, 3}, {2, 23, 23, 32}, {1, 61, 1200, 3}, {1, 57, 35, 10}, {5, 9, 11, 48}} {
			for _, fma := range []bool{false, true} {
				s := shape4{sz[0], sz[1], sz[2], sz[3]}
				k, cout := 2+r.IntN(2), []int{10, 28, 32, 64}[r.IntN(4)]
				if s.h-k+1 < p.k || s.w-k+1 < p.k {
					continue
				}
				in := make([]float32, s.size())
				w := make([]float32, k*k*s.c*cout)
				bias, alpha := make([]float32, cout), make([]float32, cout)
				for _, x := range [][]float32{in, w, bias, alpha} {
					for i := range x {
						x[i] = r.Float32()*2 - 1
					}
				}
				cs := shape4{s.n, s.h - k + 1, s.w - k + 1, cout}
				conv := make([]float32, cs.size())
				conv2d(in, s, w, k, k, cout, bias, alpha, conv, fma)
				o, _, _ := p.out(cs)
				want := make([]float32, o.size()+1)
				maxPoolPlain(conv, cs, p, want)
				got := make([]float32, o.size()+1)
				got[o.size()], want[o.size()] = 7, 7
				if g := convPool(in, s, w, k, k, cout, bias, alpha, p, got, fma); g != o {
					t.Fatalf("%+v %v: shape %v, want %v", p, s, g, o)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("pool %+v input %v k=%d cout=%d fma=%v: out[%d] = %v, want %v", p, s, k, cout, fma, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestConvHeadsMatchesSeparate checks the convolution fused with the 1x1
// heads against conv2d twice, bit for bit: maps of several rows, a batch
// of 1x1 outputs (the fully connected case), both modes.
func TestConvHeadsMatchesSeparate(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, tc := range []struct {
		s            shape4
		k, cout, hcs int
	}{
		{shape4{1, 30, 41, 16}, 3, 32, 6},
		{shape4{1, 12, 12, 16}, 3, 32, 6},
		{shape4{70, 3, 3, 64}, 3, 128, 6},
		{shape4{9, 3, 3, 128}, 3, 256, 16},
		{shape4{2, 5, 7, 10}, 2, 20, 3},
	} {
		for _, fma := range []bool{false, true} {
			s, k, cout, hc := tc.s, tc.k, tc.cout, tc.hcs
			fill := func(n int) []float32 {
				x := make([]float32, n)
				for i := range x {
					x[i] = r.Float32()*2 - 1
				}
				return x
			}
			in, w, bias, alpha := fill(s.size()), fill(k*k*s.c*cout), fill(cout), fill(cout)
			hw, hb := fill(cout*hc), fill(hc)
			cs := shape4{s.n, s.h - k + 1, s.w - k + 1, cout}
			mid := make([]float32, cs.size())
			conv2d(in, s, w, k, k, cout, bias, alpha, mid, fma)
			os := shape4{cs.n, cs.h, cs.w, hc}
			want := make([]float32, os.size()+1)
			conv2d(mid, cs, hw, 1, 1, hc, hb, nil, want, fma)
			got := make([]float32, os.size()+1)
			got[os.size()], want[os.size()] = 5, 5
			if g := convHeads(in, s, w, k, k, cout, bias, alpha, hw, hb, hc, got, fma); g != os {
				t.Fatalf("%+v: shape %v, want %v", tc, g, os)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%+v fma=%v: out[%d] = %v, want %v", tc, fma, i, got[i], want[i])
				}
			}
		}
	}
}

// edgeValue returns a random value in [-2, 2) or, often, one that kernels
// get wrong first: zeros of both signs and, with special, NaN and 1 (which
// repeats, so ties occur).
func edgeValue(r *rand.Rand, special bool) float32 {
	n := 6
	if special {
		n = 10
	}
	switch r.IntN(n) {
	case 0:
		return 0
	case 1:
		return float32(math.Copysign(0, -1))
	case 2:
		if special {
			return float32(math.NaN())
		}
	case 3:
		if special {
			return 1
		}
	}
	return r.Float32()*4 - 2
}

// TestSoftmax2 checks the two-channel softmax against the general loop's
// formula bit for bit (the max's exp(0) taken as 1), with ties, zeros of
// both signs, NaNs, infinities and values far apart.
func TestSoftmax2(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const cells, cx = 5000, 6
	x := make([]float32, cells*cx)
	for i := range x {
		x[i] = edgeValue(r, true) * float32(1+r.IntN(60))
		if r.IntN(12) == 0 {
			x[i] = float32(math.Inf(1 - 2*r.IntN(2)))
		}
	}
	got, want := make([]float32, cells*2), make([]float32, cells*2)
	softmax2(x, cx, got, 0, cells)
	for i := 0; i < cells; i++ {
		v := x[i*cx : i*cx+2]
		m := max(v[0], v[1])
		var sum float32
		for j, t := range v {
			e := float32(1)
			if t != m {
				e = float32(expFMA(float64(t - m)))
			}
			want[2*i+j] = e
			sum += e
		}
		inv := 1 / sum
		want[2*i] *= inv
		want[2*i+1] *= inv
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("cell %d (%v, %v): out[%d] = %v, want %v", i/2, x[i/2*cx], x[i/2*cx+1], i, got[i], want[i])
		}
	}
}
