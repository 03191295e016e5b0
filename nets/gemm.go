package nets

import (
	"math"
	"math/big"
)

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

// gemmSegGenericFMA is gemmSegGeneric with each product and sum fused into
// one multiply-add, rounded once: what fused multiply-add hardware computes.
// It is the specification of the FMA kernels.
func gemmSegGenericFMA(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int) {
	for s := 0; s < segs; s++ {
		as, bs := a[s*segA:], b[s*segLen*ldb:]
		for i := 0; i < m; i++ {
			ci := c[i*ldc : i*ldc+n]
			for p, av := range as[i*lda : i*lda+segLen] {
				for j, bv := range bs[p*ldb : p*ldb+n] {
					ci[j] = fma32(av, bv, ci[j])
				}
			}
		}
	}
}

// fma32 returns x*y + z rounded once to float32 (round to nearest even).
// The product is exact in float64 and the sum is exact there too unless the
// operands' exponents lie far apart; an inexact float64 sum rounds to the
// same float32 as the exact one unless it lands exactly halfway between two
// float32 values, where the sign of the lost remainder decides.
func fma32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	s := p + float64(z)
	// The rounding error of s (Knuth's TwoSum).
	bb := s - p
	e := (p - (s - bb)) + (float64(z) - bb)
	if e == 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	if math.Abs(s) < 0x1p-126 {
		// Subnormal float32 results keep fewer bits; settle them exactly.
		r, _ := new(big.Float).SetPrec(2048).SetMode(big.ToNearestEven).Add(big.NewFloat(p), big.NewFloat(float64(z))).Float32()
		return r
	}
	const half = 1 << 28 // float64's 29 low mantissa bits, halfway
	if math.Float64bits(s)&(1<<29-1) == half {
		s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
	}
	return float32(s)
}

// convGemmGeneric computes, for each of the m rows of C, C[i, 0:n] =
// act(bias + sum of A·B) with the segmented product of gemmSegGeneric (or
// gemmSegGenericFMA with fma set) started from zero; act is PReLU with
// slopes alpha, as biasPReLUGeneric, or nothing when alpha is nil. It is the
// specification of convGemm, on which every convolution runs.
func convGemmGeneric(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int, bias, alpha []float32, fma bool) {
	if alpha != nil {
		alpha = alpha[:n]
	}
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		clear(ci)
		if fma {
			gemmSegGenericFMA(1, n, segs, segLen, a[i*lda:], lda, segA, b, ldb, ci, ldc)
		} else {
			gemmSegGeneric(1, n, segs, segLen, a[i*lda:], lda, segA, b, ldb, ci, ldc)
		}
		biasPReLUGeneric(ci, bias[:n], alpha)
	}
}
