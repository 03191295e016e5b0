package nets

// gemmBlocked computes what gemmGeneric computes, bit for bit, faster on
// CPUs without a SIMD kernel here (wasm, riscv64, 32-bit ARM): it works on
// 4x4 blocks of C held in local variables (4x2 and 1x4 at the edges), so
// each A and B value loaded serves several products. Every C element still
// starts from its stored value and adds its rounded products in order of p.
func gemmBlocked(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	i := 0
	for ; i+4 <= m; i += 4 {
		a0, a1, a2, a3 := a[i*lda:i*lda+k], a[(i+1)*lda:(i+1)*lda+k], a[(i+2)*lda:(i+2)*lda+k], a[(i+3)*lda:(i+3)*lda+k]
		j := 0
		for ; j+4 <= n; j += 4 {
			r0, r1, r2, r3 := c[i*ldc+j:i*ldc+j+4], c[(i+1)*ldc+j:(i+1)*ldc+j+4], c[(i+2)*ldc+j:(i+2)*ldc+j+4], c[(i+3)*ldc+j:(i+3)*ldc+j+4]
			c00, c01, c02, c03 := r0[0], r0[1], r0[2], r0[3]
			c10, c11, c12, c13 := r1[0], r1[1], r1[2], r1[3]
			c20, c21, c22, c23 := r2[0], r2[1], r2[2], r2[3]
			c30, c31, c32, c33 := r3[0], r3[1], r3[2], r3[3]
			for p := 0; p < k; p++ {
				bp := b[p*ldb+j : p*ldb+j+4]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				x := a0[p]
				c00 += float32(x * b0)
				c01 += float32(x * b1)
				c02 += float32(x * b2)
				c03 += float32(x * b3)
				x = a1[p]
				c10 += float32(x * b0)
				c11 += float32(x * b1)
				c12 += float32(x * b2)
				c13 += float32(x * b3)
				x = a2[p]
				c20 += float32(x * b0)
				c21 += float32(x * b1)
				c22 += float32(x * b2)
				c23 += float32(x * b3)
				x = a3[p]
				c30 += float32(x * b0)
				c31 += float32(x * b1)
				c32 += float32(x * b2)
				c33 += float32(x * b3)
			}
			r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
			r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
			r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
			r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
		}
		for ; j+2 <= n; j += 2 {
			r0, r1, r2, r3 := c[i*ldc+j:i*ldc+j+2], c[(i+1)*ldc+j:(i+1)*ldc+j+2], c[(i+2)*ldc+j:(i+2)*ldc+j+2], c[(i+3)*ldc+j:(i+3)*ldc+j+2]
			c00, c01, c10, c11 := r0[0], r0[1], r1[0], r1[1]
			c20, c21, c30, c31 := r2[0], r2[1], r3[0], r3[1]
			for p := 0; p < k; p++ {
				bp := b[p*ldb+j : p*ldb+j+2]
				b0, b1 := bp[0], bp[1]
				x := a0[p]
				c00 += float32(x * b0)
				c01 += float32(x * b1)
				x = a1[p]
				c10 += float32(x * b0)
				c11 += float32(x * b1)
				x = a2[p]
				c20 += float32(x * b0)
				c21 += float32(x * b1)
				x = a3[p]
				c30 += float32(x * b0)
				c31 += float32(x * b1)
			}
			r0[0], r0[1], r1[0], r1[1] = c00, c01, c10, c11
			r2[0], r2[1], r3[0], r3[1] = c20, c21, c30, c31
		}
		if j < n {
			gemmGeneric(4, n-j, k, a[i*lda:], lda, b[j:], ldb, c[i*ldc+j:], ldc)
		}
	}
	// The last rows, one at a time, four columns at a time.
	for ; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		j := 0
		for ; j+4 <= n; j += 4 {
			r := c[i*ldc+j : i*ldc+j+4]
			c0, c1, c2, c3 := r[0], r[1], r[2], r[3]
			for p, x := range ai {
				bp := b[p*ldb+j : p*ldb+j+4]
				c0 += float32(x * bp[0])
				c1 += float32(x * bp[1])
				c2 += float32(x * bp[2])
				c3 += float32(x * bp[3])
			}
			r[0], r[1], r[2], r[3] = c0, c1, c2, c3
		}
		if j < n {
			gemmGeneric(1, n-j, k, ai, lda, b[j:], ldb, c[i*ldc+j:], ldc)
		}
	}
}
