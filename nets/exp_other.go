//go:build !amd64 || purego

package nets

// expNeg sets dst[i] = float32(expFMA(float64(src[i]))) for src[i] <= 0
// or NaN; see expNegGeneric.
func expNeg(dst, src []float32) { expNegGeneric(dst, src) }

// expNegVector reports whether expNeg runs a vector version.
func expNegVector() bool { return false }
