package nets

// gemm is the matrix kernel every convolution runs on; see gemmGeneric.
func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmGeneric(m, n, k, a, lda, b, ldb, c, ldc)
}
