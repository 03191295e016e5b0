//go:build !amd64 || purego

package nets

// expNeg sets dst[i] = float32(math.Exp(float64(src[i]))) for src[i] <= 0
// or NaN; see expNegGeneric.
func expNeg(dst, src []float32) { expNegGeneric(dst, src) }
