//go:build arm64 && !purego

package nets

//go:generate go run gen_arm64.go

// gemmKernel names the kernel in use, for benchmarks and reports. Advanced
// SIMD is part of every arm64 CPU Go runs on, so there is no fallback.
const gemmKernel = "neon"

// gemmNEONx16 computes C += A·B for a 16-column block of B and C (m rows,
// k inner products each), four rows at a time; gemmNEONx8, x4, x2 and x1 do
// the same for narrower blocks, so nothing past the last column is read or
// written. All need m >= 1 and k >= 1.
//
//go:noescape
func gemmNEONx16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx8(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx4(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx2(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx1(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

// gemmNEONx16FMA and the others are the kernels above with each multiply
// and add fused into one rounding (FMLA, FMADDS), for Mode FMA; see
// gemm_fma_arm64.s, which gen_arm64.go writes from gemm_arm64.s.
//
//go:noescape
func gemmNEONx16FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx8FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx4FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx2FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func gemmNEONx1FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

// hasFMA reports that FMA kernels exist here: Advanced SIMD always has
// FMLA.
const hasFMA = true

// neonKernel is one block width's kernel.
type neonKernel func(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

var (
	exactKernels = [5]neonKernel{gemmNEONx16, gemmNEONx8, gemmNEONx4, gemmNEONx2, gemmNEONx1}
	fmaKernels   = [5]neonKernel{gemmNEONx16FMA, gemmNEONx8FMA, gemmNEONx4FMA, gemmNEONx2FMA, gemmNEONx1FMA}
)

// gemm is the matrix kernel every convolution runs on; see gemmGeneric,
// whose results the NEON kernels reproduce bit for bit: they vectorise
// across columns, so every C element still sums its products in order,
// with a separate multiply and add (FMUL then FADD, never the fused FMLA).
func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmWith(&exactKernels, m, n, k, a, lda, b, ldb, c, ldc)
}

// gemmFMA is gemm with fused multiply-adds; see gemmSegGenericFMA, whose
// results it reproduces bit for bit (one segment).
func gemmFMA(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmWith(&fmaKernels, m, n, k, a, lda, b, ldb, c, ldc)
}

// gemmWith runs the kernels of block widths 16, 8, 4, 2 and 1 over C's
// columns.
func gemmWith(ks *[5]neonKernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	// The kernels index without bounds checks: check the extents here.
	_ = a[(m-1)*lda+k-1]
	_ = b[(k-1)*ldb+n-1]
	_ = c[(m-1)*ldc+n-1]
	j := 0
	for ; j+16 <= n; j += 16 {
		ks[0](m, k, &a[0], lda, &b[j], ldb, &c[j], ldc)
	}
	for i, width := range []int{8, 4, 2, 1} {
		if j+width <= n {
			ks[i+1](m, k, &a[0], lda, &b[j], ldb, &c[j], ldc)
			j += width
		}
	}
}

//go:noescape
func biasPReLUNEON(x *float32, pixels, c int, bias, alpha *float32)

//go:noescape
func maxIntoNEON(dst, src *float32, n int)

// biasPReLU adds biases and applies PReLU; see biasPReLUGeneric, whose
// results the NEON version reproduces bit for bit.
func biasPReLU(x, bias, alpha []float32) {
	c := len(bias)
	if alpha == nil || c == 0 || len(x) < c || len(alpha) != c {
		biasPReLUGeneric(x, bias, alpha)
		return
	}
	pixels := len(x) / c
	biasPReLUNEON(&x[0], pixels, c, &bias[0], &alpha[0])
	if rest := x[pixels*c:]; len(rest) > 0 {
		biasPReLUGeneric(rest, bias, alpha)
	}
}

// maxInto is dst = max(dst, src) elementwise; see maxIntoGeneric, whose
// results the NEON version reproduces bit for bit.
func maxInto(dst, src []float32) {
	if len(dst) == 0 {
		maxIntoGeneric(dst, src)
		return
	}
	_ = src[len(dst)-1]
	maxIntoNEON(&dst[0], &src[0], len(dst))
}

// maxWindows is the pooling of n windows; see maxWindowsGeneric. It runs
// the NEON maxInto over each window's pixels in order, which gives the
// same bits.
func maxWindows(dst, src []float32, n, c, xstep int, offs []int) {
	for x := 0; x < n; x++ {
		d := dst[x*c : x*c+c]
		base := src[x*xstep:]
		copy(d, base[offs[0]:offs[0]+c])
		for _, o := range offs[1:] {
			maxInto(d, base[o:o+c])
		}
	}
}

// maxIntoGeneric sets dst[i] = max(dst[i], src[i]); it is the
// specification of the assembly version.
func maxIntoGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		if v > dst[i] {
			dst[i] = v
		}
	}
}
