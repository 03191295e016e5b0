//go:build !amd64 || purego

package nets

// gemmSeg is the segmented product; see gemmSegGeneric. Where the kernels
// take one segment at a time (NEON, the blocked pure-Go GEMM), it runs
// them segment by segment, which keeps the summation order.
func gemmSeg(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int) {
	for s := 0; s < segs; s++ {
		gemm(m, n, segLen, a[s*segA:], lda, b[s*segLen*ldb:], ldb, c, ldc)
	}
}
