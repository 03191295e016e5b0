//go:build amd64 && !purego

package nets

//go:generate go run gen_amd64.go

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2 kernels; without AVX2 the generic ones run.
var useAVX2 = cpu.X86.HasAVX2

// useAVX512 selects the AVX-512 GEMM where the CPU has AVX-512F.
var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX2

// gemmKernel names the GEMM kernel in use, for benchmarks and reports.
var gemmKernel = func() string {
	switch {
	case useAVX512:
		return "avx512"
	case useAVX2:
		return "avx2"
	}
	return "generic"
}()

// gemmAVX512x32 computes C += A·B for a 32-column block, four rows at a
// time; mask1 enables columns 16..31 (bit l for column 16+l).
//
//go:noescape
func gemmAVX512x32(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask1 uint16, segs, segA int)

// gemmAVX512x16 is gemmAVX512x32 for a block of up to 16 columns enabled
// by mask.
//
//go:noescape
func gemmAVX512x16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int)

// gemmAVX2x16 computes C += A·B for a 16-column block of B and C (m rows,
// k inner products each), four rows at a time.
//
//go:noescape
func gemmAVX2x16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, segs, segA int)

// gemmAVX2x8 is gemmAVX2x16 for a block of up to 8 columns: mask selects
// the columns (all ones in the lanes to use), so nothing past the last
// column is read or written.
//
//go:noescape
func gemmAVX2x8(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask *[8]int32, segs, segA int)

// laneMasks[w] enables the first w lanes.
var laneMasks = func() (t [9][8]int32) {
	for w := range t {
		for l := 0; l < w; l++ {
			t[w][l] = -1
		}
	}
	return t
}()

// gemm is the matrix kernel; see gemmGeneric. It is gemmSeg with one
// segment.
func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmSeg(m, n, 1, k, a, lda, 0, b, ldb, c, ldc)
}

// gemmSeg is the segmented product every convolution runs on; see
// gemmSegGeneric, whose results the AVX-512 and AVX2 kernels reproduce bit
// for bit: they vectorise across columns, so every C element still sums
// its products in order, with a separate multiply and add.
func gemmSeg(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int) {
	if !useAVX2 || m == 0 || n == 0 || segs == 0 || segLen == 0 {
		gemmSegGeneric(m, n, segs, segLen, a, lda, segA, b, ldb, c, ldc)
		return
	}
	// The kernels index without bounds checks: check the extents here.
	_ = a[(m-1)*lda+(segs-1)*segA+segLen-1]
	_ = b[(segs*segLen-1)*ldb+n-1]
	_ = c[(m-1)*ldc+n-1]
	if useAVX512 {
		j := 0
		for ; n-j > 16; j += 32 {
			gemmAVX512x32(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, uint16(1<<min(16, n-j-16)-1), segs, segA)
		}
		if j < n {
			gemmAVX512x16(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, uint16(1<<(n-j)-1), segs, segA)
		}
		return
	}
	j := 0
	for ; j+16 <= n; j += 16 {
		gemmAVX2x16(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, segs, segA)
	}
	for ; j < n; j += 8 {
		gemmAVX2x8(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, &laneMasks[min(8, n-j)], segs, segA)
	}
}

//go:noescape
func biasPReLUAVX2(x *float32, pixels, c int, bias, alpha *float32, mask *[8]int32)

//go:noescape
func maxIntoAVX2(dst, src *float32, n int, mask *[8]int32)

// lastMask returns the mask of the lanes of the last block of an n-long run
// processed eight at a time.
func lastMask(n int) *[8]int32 { return &laneMasks[n-8*((n-1)/8)] }

// biasPReLU adds biases and applies PReLU; see biasPReLUGeneric, whose
// results the AVX2 version reproduces bit for bit.
func biasPReLU(x, bias, alpha []float32) {
	c := len(bias)
	if !useAVX2 || alpha == nil || c == 0 || len(x) < c || len(alpha) != c {
		biasPReLUGeneric(x, bias, alpha)
		return
	}
	pixels := len(x) / c
	biasPReLUAVX2(&x[0], pixels, c, &bias[0], &alpha[0], lastMask(c))
	if rest := x[pixels*c:]; len(rest) > 0 {
		biasPReLUGeneric(rest, bias, alpha)
	}
}

// maxInto is dst = max(dst, src) elementwise; see maxIntoGeneric.
func maxInto(dst, src []float32) {
	if !useAVX2 || len(dst) == 0 {
		maxIntoGeneric(dst, src)
		return
	}
	_ = src[len(dst)-1]
	maxIntoAVX2(&dst[0], &src[0], len(dst), lastMask(len(dst)))
}
