package nets

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvGemmMatchesGeneric checks the kernel in use against the generic
// specification bit for bit, in both modes: odd and tiny sizes, column tails
// of every width, 1 to 3 segments at strides like an image row's,
// overlapping A rows (lda < k, as convolution reads its input), strided B
// and C, unaligned starting offsets, with and without PReLU, and inputs
// with zeros of both signs. With -short (as CI runs it under a wasm
// runtime) it keeps every shape whose product has at most 2^18
// multiply-adds: all the edge cases, none of the large blocks.
func TestConvGemmMatchesGeneric(t *testing.T) {
	t.Logf("kernel: %s, FMA kernels: %v", gemmKernel, hasFMA)
	checkConvGemm(t)
}

func checkConvGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			switch r.IntN(20) {
			case 0:
				x[i] = 0
			case 1:
				x[i] = float32(math.Copysign(0, -1))
			default:
				x[i] = r.Float32()*2 - 1
			}
		}
		return x
	}
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 19, 22, 46, 190} {
		for _, n := range []int{1, 2, 4, 6, 7, 8, 9, 10, 15, 16, 17, 24, 28, 31, 32, 33, 40, 47, 48, 49, 63, 64, 65, 80, 100, 128, 256} {
			for _, segs := range []int{1, 2, 3} {
				for _, segLen := range []int{1, 3, 9, 30, 48, 192} {
					if testing.Short() && m*n*segs*segLen > 1<<18 {
						continue
					}
					// Overlapping rows as in a convolution, gaps, or one
					// of the strides the fixed-stride kernels take.
					lda := segLen + r.IntN(3)
					switch r.IntN(4) {
					case 0:
						lda = max(1, segLen/3)
					case 1:
						lda = []int{3, 10, 16, 32}[r.IntN(4)]
					}
					segA := (m-1)*lda + segLen + r.IntN(5)
					ldb, ldc := n+r.IntN(3), n+r.IntN(5)
					off := r.IntN(4)
					a := fill(off + (m-1)*lda + (segs-1)*segA + segLen)
					b := fill(off + (segs*segLen-1)*ldb + n)
					bias, alpha := fill(off+n), fill(off+n)
					for _, prelu := range []bool{false, true} {
						for _, fma := range []bool{false, true} {
							al := alpha[off:]
							if !prelu {
								al = nil
							}
							c := fill(off + (m-1)*ldc + n + 3)
							want := append([]float32(nil), c...)
							convGemmGeneric(m, n, segs, segLen, a[off:], lda, segA, b[off:], ldb, want[off:], ldc, bias[off:], al, fma && hasFMA)
							convGemm(m, n, segs, segLen, a[off:], lda, segA, b[off:], ldb, c[off:], ldc, bias[off:], al, fma)
							for i := range c {
								if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
									t.Fatalf("m=%d n=%d segs=%d segLen=%d lda=%d segA=%d ldb=%d ldc=%d prelu=%v fma=%v: c[%d] = %v, want %v (kernel %s)",
										m, n, segs, segLen, lda, segA, ldb, ldc, prelu, fma, i, c[i], want[i], gemmKernel)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestConvGemmFMADiffers checks that the FMA kernels really fuse: a product
// whose rounding a separate add would lose must survive.
func TestConvGemmFMADiffers(t *testing.T) {
	if !hasFMA {
		t.Skip("no FMA kernels on this platform")
	}
	// (1+2^-12)^2 = 1 + 2^-11 + 2^-24: rounded alone the 2^-24 is lost (tie
	// to even), fused with -1 it is kept.
	// The sum is 0 - 1 + x*x, in that order.
	x := float32(1 + 0x1p-12)
	for n := 1; n <= 40; n++ {
		bb := make([]float32, 2*n)
		for j := range n {
			bb[j], bb[n+j] = -1, x
		}
		aa := []float32{1, x}
		bias := make([]float32, n)
		for _, fma := range []bool{false, true} {
			c := make([]float32, n)
			convGemm(1, n, 1, 2, aa, 2, 0, bb, n, c, n, bias, nil, fma)
			want := float32(0x1p-11)
			if fma {
				want = 0x1p-11 + 0x1p-24
			}
			for j, v := range c {
				if v != want {
					t.Fatalf("n=%d fma=%v: c[%d] = %g, want %g", n, fma, j, v, want)
				}
			}
		}
	}
}

// TestConvGemmRespectsBounds checks that the kernel writes nothing outside
// the m×n block of C, including the padding between rows.
func TestConvGemmRespectsBounds(t *testing.T) {
	for _, n := range []int{3, 11, 20, 37} {
		const m, k, ldc = 9, 5, 40
		a := make([]float32, m*k)
		b := make([]float32, k*n)
		bias := make([]float32, n+8)
		for i := range a {
			a[i] = 1
		}
		for i := range b {
			b[i] = 1
		}
		for _, fma := range []bool{false, true} {
			c := make([]float32, (m-1)*ldc+n+8)
			sentinel := float32(-7)
			for i := range c {
				c[i] = sentinel
			}
			convGemm(m, n, 1, k, a, k, 0, b, n, c, ldc, bias[:n], nil, fma)
			for i := range c {
				row, col := i/ldc, i%ldc
				inside := row < m && col < n
				if inside && c[i] != k || !inside && c[i] != sentinel {
					t.Fatalf("n=%d: c[%d] (row %d col %d) = %v", n, i, row, col, c[i])
				}
			}
		}
	}
}

// TestGeneratedKernelsUpToDate checks that the generated assembly files
// are what their generators write (gen_amd64.go from its template,
// gen_arm64.go from gemm_arm64.s, gen_wasm.go); it runs on every host.
func TestGeneratedKernelsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generators")
	}
	for _, tc := range []struct{ generator, file string }{
		{"gen_amd64.go", "gemm_kernels_amd64.s"},
		{"gen_arm64.go", "gemm_fma_arm64.s"},
		{"gen_wasm.go", "gemm_wasm.s"},
	} {
		out := filepath.Join(t.TempDir(), "k.s")
		if b, err := exec.Command("go", "run", tc.generator, "-o", out).CombinedOutput(); err != nil {
			t.Skipf("cannot run %s: %v\n%s", tc.generator, err, b)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./nets", tc.file)
		}
	}
}

// TestWasmStoresHaveNoOffset checks that no SIMD128 store of the wasm
// kernels carries a memory offset, which Go 1.27's assembler drops from a
// one-operand V128Store (TestWasmV128StoreOffset); it runs on every host.
func TestWasmStoresHaveNoOffset(t *testing.T) {
	src, err := os.ReadFile("gemm_wasm.s")
	if err != nil {
		t.Fatal(err)
	}
	stores := 0
	for i, line := range strings.Split(string(src), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "V128Store" {
			stores++
			if len(f) != 2 || f[1] != "$0" {
				t.Errorf("gemm_wasm.s:%d: %q: a store with an offset, which the assembler drops", i+1, strings.TrimSpace(line))
			}
		}
	}
	if stores == 0 {
		t.Fatal("gemm_wasm.s: no V128Store found")
	}
}

// TestFMA32 checks the specification's fused multiply-add against exact
// arithmetic: random operands over a wide range of exponents, products
// that cancel, results halfway between two float32 values (where a float64
// sum would round twice) and subnormal results.
func TestFMA32(t *testing.T) {
	exact := func(x, y, z float32) float32 {
		p := new(big.Float).SetPrec(2048).Mul(big.NewFloat(float64(x)), big.NewFloat(float64(y)))
		r, _ := p.Add(p, big.NewFloat(float64(z))).Float32()
		return r
	}
	r := rand.New(rand.NewPCG(51, 52))
	val := func() float32 {
		return float32(math.Ldexp(r.Float64()*2-1, r.IntN(80)-40))
	}
	type tc struct{ x, y, z float32 }
	cases := []tc{
		{1 + 0x1p-12, 1 + 0x1p-12, -1},
		// x*y = 1 + 2^-24 exactly (a float32 halfway point) plus a tiny z:
		// the float64 sum rounds to the halfway point, the exact one is above.
		{1 + 0x1p-23, 1 - 0x1p-23, 0x1p-80},
		{1 + 0x1p-23, 1 - 0x1p-23, -0x1p-80},
		{0x1p-70, 0x1p-70, 0x1p-140},
		{-0x1p-75, 0x1p-70, 0x1p-140},
		{3, 0x1p-140, -0x1p-149},
		{0x1p-24 + 0x1p-47, 1 - 0x1p-23, 1 + 0x1p-23},
		// A subnormal halfway case: z = (2^22+1)·2^-149, x*y = 2^-150 - 2^-196.
		{0x1p-75 + 0x1p-98, 0x1p-75 - 0x1p-98, 0x1p-127 + 0x1p-149},
	}
	for range 200000 {
		cases = append(cases, tc{val(), val(), val()})
		x, y := val(), val()
		cases = append(cases, tc{x, y, -float32(float64(x) * float64(y))})
		// x*y = ±(half an ulp of z)(1 - 2^-46): the float64 sum rounds to
		// the halfway point, the exact one lies just inside; with an odd z
		// ties-to-even would round the wrong way.
		z := val()
		h := math.Ldexp(1, math.Ilogb(float64(z))-24) * (1 + 0x1p-23)
		cases = append(cases, tc{float32(math.Copysign(h, r.Float64()-0.5)), 1 - 0x1p-23, z})
		// Subnormal results: tiny products beside tiny or zero z.
		cases = append(cases, tc{val() * 0x1p-60, val() * 0x1p-60, val() * 0x1p-100})
	}
	for _, c := range cases {
		got, want := fma32(c.x, c.y, c.z), exact(c.x, c.y, c.z)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", c.x, c.y, c.z, got, want)
		}
	}
}

func BenchmarkConvGemm(b *testing.B) {
	// Rows of P-Net conv1 (its first level), conv3 and conv2, R-Net conv4 (a batch of 64) and O-Net
	// conv5 (196 images).
	for _, s := range [][4]int{{574, 10, 3, 9}, {283, 32, 3, 48}, {22, 28, 3, 9}, {283, 16, 3, 30}, {9, 48, 3, 84}, {3, 64, 2, 96}, {21, 64, 3, 96}, {64, 128, 1, 576}, {196, 256, 1, 1152}} {
		m, n, segs, segLen := s[0], s[1], s[2], s[3]
		// A convolution's rows overlap: one input pixel apart.
		lda := segLen
		if segs == 3 {
			lda = segLen / 3
		}
		a := make([]float32, m*segs*segLen)
		bb := make([]float32, segs*segLen*n)
		c := make([]float32, m*n)
		bias, alpha := make([]float32, n), make([]float32, n)
		for _, fma := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d/fma=%v", m, n, segs, segLen, fma), func(b *testing.B) {
				b.SetBytes(int64(2 * m * n * segs * segLen)) // reported MB/s = MFLOP/s
				for b.Loop() {
					convGemm(m, n, segs, segLen, a, lda, m*segLen, bb, n, c, n, bias, alpha, fma)
				}
			})
		}
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
