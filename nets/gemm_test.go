package nets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmMatchesGeneric checks the kernel in use against the generic
// specification bit for bit: odd and tiny sizes, column tails of every
// width, overlapping rows (lda < k, as convolution uses), strided B and C,
// and unaligned starting offsets.
func TestGemmMatchesGeneric(t *testing.T) {
	t.Logf("kernel: %s", gemmKernel)
	checkGemm(t)
}

func checkGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = r.Float32()*2 - 1
		}
		return x
	}
	for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 13, 190} {
		for _, n := range []int{1, 2, 4, 7, 8, 9, 10, 15, 16, 17, 28, 32, 33, 48, 64, 128, 256} {
			for _, k := range []int{1, 3, 9, 30, 48, 192} {
				for _, overlap := range []bool{false, true} {
					lda := k + r.IntN(3)
					if overlap {
						lda = max(1, k/3)
					}
					ldb, ldc := n+r.IntN(3), n+r.IntN(5)
					off := r.IntN(4)
					a := fill(off + (m-1)*lda + k)
					b := fill(off + (k-1)*ldb + n)
					c := fill(off + (m-1)*ldc + n)
					want := append([]float32(nil), c...)
					gemmGeneric(m, n, k, a[off:], lda, b[off:], ldb, want[off:], ldc)
					gemm(m, n, k, a[off:], lda, b[off:], ldb, c[off:], ldc)
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
							t.Fatalf("m=%d n=%d k=%d lda=%d ldb=%d ldc=%d: c[%d] = %v, want %v", m, n, k, lda, ldb, ldc, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestGemmRespectsBounds checks that the kernel writes nothing outside the
// m×n block of C, including the padding between rows.
func TestGemmRespectsBounds(t *testing.T) {
	const m, n, k, ldc = 6, 11, 5, 14
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = 1
	}
	for i := range b {
		b[i] = 1
	}
	c := make([]float32, (m-1)*ldc+n+8)
	sentinel := float32(-7)
	for i := range c {
		c[i] = sentinel
	}
	gemm(m, n, k, a, k, b, n, c, ldc)
	for i := range c {
		row, col := i/ldc, i%ldc
		inside := row < m && col < n
		if inside && c[i] != sentinel+k || !inside && c[i] != sentinel {
			t.Fatalf("c[%d] (row %d col %d) = %v", i, row, col, c[i])
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	// Shapes of P-Net conv3 and O-Net conv5 rows, and R-Net conv4.
	for _, s := range [][3]int{{190, 32, 48}, {283, 16, 30}, {64, 128, 576}, {196, 256, 1152}} {
		m, n, k := s[0], s[1], s[2]
		a := make([]float32, m*k)
		bb := make([]float32, k*n)
		c := make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			b.SetBytes(int64(2 * m * n * k)) // reported MB/s = MFLOP/s
			for b.Loop() {
				gemm(m, n, k, a, k, bb, n, c, n)
			}
		})
	}
}

// TestGemmBlockedMatchesGeneric checks the pure-Go blocked kernel (the
// default where no SIMD kernel exists) against the specification.
func TestGemmBlockedMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, m := range []int{1, 3, 4, 5, 8, 13} {
		for _, n := range []int{1, 3, 4, 5, 10, 16, 28} {
			for _, k := range []int{1, 9, 30} {
				lda, ldb, ldc := max(1, k/3), n+1, n+2
				a := make([]float32, (m-1)*lda+k)
				b := make([]float32, (k-1)*ldb+n)
				c := make([]float32, (m-1)*ldc+n)
				for _, x := range [][]float32{a, b, c} {
					for i := range x {
						x[i] = r.Float32()*2 - 1
					}
				}
				want := append([]float32(nil), c...)
				gemmGeneric(m, n, k, a, lda, b, ldb, want, ldc)
				gemmBlocked(m, n, k, a, lda, b, ldb, c, ldc)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("m=%d n=%d k=%d: c[%d] = %v, want %v", m, n, k, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// TestGemmSegMatchesGeneric checks the segmented product (what each
// convolution row runs) against its specification bit for bit: 1 to 3
// segments at strides like an image row's, overlapping A rows, tails.
func TestGemmSegMatchesGeneric(t *testing.T) {
	checkGemmSeg(t)
}

func checkGemmSeg(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, m := range []int{1, 3, 4, 5, 22, 46} {
		for _, n := range []int{1, 2, 4, 10, 16, 28, 32, 48, 64} {
			for _, segs := range []int{1, 2, 3} {
				for _, cin := range []int{3, 10, 32} {
					kw := 1 + r.IntN(3)
					segLen := kw * cin
					lda := cin
					segA := (m + kw + r.IntN(3)) * cin // one image row
					a := make([]float32, (m-1)*lda+(segs-1)*segA+segLen)
					b := make([]float32, (segs*segLen-1)*n+n)
					c := make([]float32, m*n)
					for _, x := range [][]float32{a, b, c} {
						for i := range x {
							x[i] = r.Float32()*2 - 1
						}
					}
					want := append([]float32(nil), c...)
					gemmSegGeneric(m, n, segs, segLen, a, lda, segA, b, n, want, n)
					gemmSeg(m, n, segs, segLen, a, lda, segA, b, n, c, n)
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
							t.Fatalf("m=%d n=%d segs=%d segLen=%d: c[%d] = %v, want %v (kernel %s)", m, n, segs, segLen, i, c[i], want[i], gemmKernel)
						}
					}
				}
			}
		}
	}
}
