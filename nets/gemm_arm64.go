//go:build arm64 && !purego

package nets

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

// gemm is the matrix kernel every convolution runs on; see gemmGeneric,
// whose results the NEON kernels reproduce bit for bit: they vectorise
// across columns, so every C element still sums its products in order,
// with a separate multiply and add (FMUL then FADD, never the fused FMLA).
func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		gemmGeneric(m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	// The kernels index without bounds checks: check the extents here.
	_ = a[(m-1)*lda+k-1]
	_ = b[(k-1)*ldb+n-1]
	_ = c[(m-1)*ldc+n-1]
	j := 0
	for ; j+16 <= n; j += 16 {
		gemmNEONx16(m, k, &a[0], lda, &b[j], ldb, &c[j], ldc)
	}
	if j+8 <= n {
		gemmNEONx8(m, k, &a[0], lda, &b[j], ldb, &c[j], ldc)
		j += 8
	}
	if j+4 <= n {
		gemmNEONx4(m, k, &a[0], lda, &b[j], ldb, &c[j], ldc)
		j += 4
	}
	if j+2 <= n {
		gemmNEONx2(m, k, &a[0], lda, &b[j], ldb, &c[j], ldc)
		j += 2
	}
	if j < n {
		gemmNEONx1(m, k, &a[0], lda, &b[j], ldb, &c[j], ldc)
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
