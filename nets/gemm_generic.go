//go:build !(amd64 || arm64 || (wasm && goexperiment.simd && go1.27)) || purego

package nets

// gemm is the matrix kernel every convolution runs on: gemmBlocked, which
// gives gemmGeneric's results bit for bit.
func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmBlocked(m, n, k, a, lda, b, ldb, c, ldc)
}

// biasPReLU adds biases and applies PReLU; see biasPReLUGeneric.
func biasPReLU(x, bias, alpha []float32) { biasPReLUGeneric(x, bias, alpha) }

// maxWindows is the pooling of n windows: maxWindowsGeneric.
func maxWindows(dst, src []float32, n, c, xstep int, offs []int) {
	maxWindowsGeneric(dst, src, n, c, xstep, offs)
}

// gemmKernel names the kernel in use, for benchmarks and reports.
const gemmKernel = "generic (4x4 blocked)"

// hasFMA reports whether FMA kernels exist here: none, so Mode FMA runs
// exact and gemmFMA is never called.
const hasFMA = false

// gemmFMA is gemm with fused multiply-adds: the specification itself, for
// the build; with hasFMA false nothing calls it.
func gemmFMA(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmSegGenericFMA(m, n, 1, k, a, lda, 0, b, ldb, c, ldc)
}
