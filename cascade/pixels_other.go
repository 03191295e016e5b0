//go:build !(wasm && goexperiment.simd && go1.27) || purego

package cascade

// rgbaRowToBGR is rgbaRowToBGRGeneric: only WebAssembly has a vector
// version (pixels_wasm.go).
func rgbaRowToBGR(dst, src []uint8, n int, premul bool) {
	rgbaRowToBGRGeneric(dst, src, n, premul)
}
