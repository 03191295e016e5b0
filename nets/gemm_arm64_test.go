package nets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmNotFused checks that every NEON block width (16, 8, 4, 2, 1
// columns) and both row paths (four rows, one row) round each product before
// adding it: with a = b = 1+2⁻¹² the exact product is 1+2⁻¹¹+2⁻²⁴, which
// rounds to 1+2⁻¹¹, so c = -(1+2⁻¹¹) must end exactly 0; a fused
// multiply-add (FMLA) would leave 2⁻²⁴.
func TestGemmNotFused(t *testing.T) {
	t.Logf("kernel: %s", gemmKernel)
	const m, n = 5, 31 // 4+1 rows; 16+8+4+2+1 columns
	x := float32(1 + 1.0/(1<<12))
	a := make([]float32, m)
	b := make([]float32, n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = x
	}
	for j := range b {
		b[j] = x
	}
	for i := range c {
		c[i] = -(1 + 1.0/(1<<11))
	}
	gemm(m, n, 1, a, 1, b, n, c, n)
	for i, v := range c {
		if math.Float32bits(v) != 0 {
			t.Fatalf("c[%d] (row %d col %d) = %g, want +0 (product not rounded before the add?)", i, i/n, i%n, v)
		}
	}
}

// TestGemmKnownValues checks small exact products through every block
// width: C = A·B with A[i,p] = i+1 and B[p,j] = j+p, so C[i,j] = (i+1)·Σp(j+p).
func TestGemmKnownValues(t *testing.T) {
	const m, n, k = 6, 31, 3
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			a[i*k+p] = float32(i + 1)
		}
	}
	for p := 0; p < k; p++ {
		for j := 0; j < n; j++ {
			b[p*n+j] = float32(j + p)
		}
	}
	gemm(m, n, k, a, k, b, n, c, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if want := float32((i + 1) * (3*j + 3)); c[i*n+j] != want {
				t.Fatalf("c[%d,%d] = %v, want %v", i, j, c[i*n+j], want)
			}
		}
	}
}

// TestMaxIntoSignedZeros checks the case FMAX would get wrong: the generic
// kernel keeps dst when src is not greater, so max(dst=-0, src=+0) is -0.
// Every length up to 9 covers the vector and scalar paths.
func TestMaxIntoSignedZeros(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for n := 1; n <= 9; n++ {
		for _, pair := range [][2]float32{{negZero, 0}, {0, negZero}} {
			dst, src := make([]float32, n), make([]float32, n)
			for i := range dst {
				dst[i], src[i] = pair[0], pair[1]
			}
			maxInto(dst, src)
			for i, v := range dst {
				if math.Float32bits(v) != math.Float32bits(pair[0]) {
					t.Fatalf("n=%d: max(dst=%v, src=%v)[%d] has bits %#x, want dst's %#x",
						n, pair[0], pair[1], i, math.Float32bits(v), math.Float32bits(pair[0]))
				}
			}
		}
	}
}

// TestBiasPReLUZeros checks the sign of PReLU at zero in the vector and
// scalar paths: t = +0 or -0 is not > 0, so it becomes t*alpha.
func TestBiasPReLUZeros(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for c := 1; c <= 9; c++ {
		for _, tc := range [][3]float32{{0, 0, -2}, {negZero, 0, 3}, {negZero, negZero, -1}, {1, -3, 0.5}, {2, 1, -1}} {
			x := make([]float32, 2*c)
			bias, alpha := make([]float32, c), make([]float32, c)
			for i := range x {
				x[i] = tc[0]
			}
			for i := range bias {
				bias[i], alpha[i] = tc[1], tc[2]
			}
			want := append([]float32(nil), x...)
			biasPReLUGeneric(want, bias, alpha)
			biasPReLU(x, bias, alpha)
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
					t.Fatalf("c=%d x=%v bias=%v alpha=%v: x[%d] = %v, want %v", c, tc[0], tc[1], tc[2], i, x[i], want[i])
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
