package nets

// gemmGeneric computes C += A·B for row-major float32 matrices: A is m×k with
// row stride lda, B is k×n with row stride ldb, C is m×n with row stride ldc.
// A's rows may overlap (lda < k): convolution reads its input rows in place
// that way. Each C element accumulates its products in order of p, each
// product rounded to float32 before it is added (no fused multiply-add), so
// results are bit-identical on every architecture. It is the specification
// every assembly kernel is tested against.
func gemmGeneric(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		ai := a[i*lda : i*lda+k]
		for p, av := range ai {
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += float32(av * bv)
			}
		}
	}
}

// gemmSegGeneric is gemmGeneric with the inner dimension in segs segments:
// A's row i holds its segLen values of segment s at a[i*lda + s*segA:], B
// holds the segs*segLen rows of all segments one after another, and each C
// element adds the products of segment 0, then 1, and so on. A convolution
// passes its kernel rows as the segments, so one call computes a whole
// output row. It is the specification of the segmented kernels.
func gemmSegGeneric(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int) {
	for s := 0; s < segs; s++ {
		gemmGeneric(m, n, segLen, a[s*segA:], lda, b[s*segLen*ldb:], ldb, c, ldc)
	}
}
