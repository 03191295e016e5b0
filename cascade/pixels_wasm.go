//go:build wasm && goexperiment.simd && go1.27 && !purego

package cascade

import "simd/archsimd"

// bgrIndex picks, for 4 RGBA pixels in 16 bytes, their B, G, R bytes in
// the first 12 lanes; the last 4 (index -1: zero) are overwritten by the
// next group or never stored.
var bgrIndex = [16]int8{2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1}

// rgbaRowToBGR is rgbaRowToBGRGeneric with SIMD128: 4 pixels per
// i8x16.swizzle and one 16-byte store, of which 12 bytes are the pixels'
// and the last 4 are overwritten by the next group, so the loop stops
// while 16 bytes still fit in dst. A group with a pixel that is not
// opaque (premul) and the last pixels take the scalar path.
func rgbaRowToBGR(dst, src []uint8, n int, premul bool) {
	dst, src = dst[:3*n], src[:4*n]
	idx := archsimd.LoadInt8x16Array(&bgrIndex)
	x := 0
	for ; x+4 <= n && 3*x+16 <= len(dst); x += 4 {
		s := src[4*x : 4*x+16]
		if premul && s[3]&s[7]&s[11]&s[15] != 0xff {
			rgbaRowToBGRGeneric(dst[3*x:3*x+12], s, 4, true)
			continue
		}
		archsimd.LoadUint8x16(s).BitsToInt8().LookupOrZero(idx).ToBits().Store(dst[3*x : 3*x+16])
	}
	rgbaRowToBGRGeneric(dst[3*x:], src[4*x:], n-x, premul)
}
