package cascade

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRGBARowToBGR checks rgbaRowToBGR (the SIMD128 version on wasm with
// GOEXPERIMENT=simd, else the generic one) against rgbaRowToBGRGeneric:
// every row length up to 41, offsets that misalign both slices, opaque,
// transparent and mixed alpha, premultiplied or not, and that nothing
// past dst's n pixels is written.
func TestRGBARowToBGR(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 2))
	for _, alphas := range []string{"opaque", "mixed", "random"} {
		for _, premul := range []bool{false, true} {
			for n := 0; n <= 41; n++ {
				for off := 0; off < 4; off++ {
					src := make([]uint8, off+4*n+8)
					for i := range src {
						src[i] = uint8(rng.Uint32())
					}
					for x := range n {
						a := &src[off+4*x+3]
						switch {
						case alphas == "opaque", alphas == "mixed" && x%5 != 3:
							*a = 0xff
						case alphas == "mixed":
							*a = 0
						}
						if premul && *a != 0xff { // a valid premultiplied pixel
							for c := range 3 {
								src[off+4*x+c] = min(src[off+4*x+c], *a)
							}
						}
					}
					want := make([]uint8, off+3*n+16)
					got := make([]uint8, off+3*n+16)
					for i := range want {
						want[i] = 0xa5
						got[i] = 0xa5
					}
					rgbaRowToBGRGeneric(want[off:off+3*n], src[off:off+4*n], n, premul)
					rgbaRowToBGR(got[off:off+3*n], src[off:off+4*n], n, premul)
					if !bytes.Equal(got, want) {
						t.Fatalf("%s premul=%v n=%d off=%d:\n got %v\nwant %v", alphas, premul, n, off, got, want)
					}
				}
			}
		}
	}
}

func BenchmarkRGBARowToBGR(b *testing.B) {
	const n = 960
	src := make([]uint8, 4*n)
	for i := range src {
		src[i] = uint8(i * 7)
	}
	for x := range n {
		src[4*x+3] = 0xff
	}
	dst := make([]uint8, 3*n)
	b.SetBytes(4 * n)
	for b.Loop() {
		rgbaRowToBGR(dst, src, n, true)
	}
}
