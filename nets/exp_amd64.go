//go:build amd64 && !purego

package nets

//go:noescape
func expNegAVX512(dst, src *float32, n int)

// expNeg sets dst[i] = float32(expFMA(float64(src[i]))) for src[i] <= 0
// or NaN; see expNegGeneric, whose bits the AVX-512 version reproduces
// (the same method, eight at a time).
func expNeg(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	if useAVX512 && n >= 8 {
		k := n &^ 7
		expNegAVX512(&dst[0], &src[0], k)
		dst, src = dst[k:], src[k:]
	}
	expNegGeneric(dst, src)
}

// expNegVector reports whether expNeg runs a vector version.
func expNegVector() bool { return useAVX512 }
