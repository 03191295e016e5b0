//go:build !(amd64 || (wasm && goexperiment.simd && go1.27)) || purego

package nets

// gemmSeg is the segmented product; see gemmSegGeneric (gemmSegGenericFMA
// with fma, where hasFMA). Where the kernels take one segment at a time
// (NEON, the blocked pure-Go GEMM), it runs them segment by segment, which
// keeps the summation order.
func gemmSeg(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int, fma bool) {
	kernel := gemm
	if fma && hasFMA {
		kernel = gemmFMA
	}
	for s := 0; s < segs; s++ {
		kernel(m, n, segLen, a[s*segA:], lda, b[s*segLen*ldb:], ldb, c, ldc)
	}
}

// convGemm is the product every convolution runs on; see convGemmGeneric.
// It clears C, runs gemmSeg and then biasPReLU, which gives the same bits.
// fma selects the fused kernels where hasFMA (arm64); elsewhere it is
// ignored.
func convGemm(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int, bias, alpha []float32, fma bool) {
	if alpha != nil {
		alpha = alpha[:n]
	}
	if ldc == n {
		c = c[:m*n]
		clear(c)
		gemmSeg(m, n, segs, segLen, a, lda, segA, b, ldb, c, ldc, fma)
		biasPReLU(c, bias[:n], alpha)
		return
	}
	for i := 0; i < m; i++ {
		clear(c[i*ldc : i*ldc+n])
	}
	gemmSeg(m, n, segs, segLen, a, lda, segA, b, ldb, c, ldc, fma)
	for i := 0; i < m; i++ {
		biasPReLU(c[i*ldc:i*ldc+n], bias[:n], alpha)
	}
}
