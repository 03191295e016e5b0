//go:build wasm && goexperiment.simd && go1.27 && !purego

package nets

//go:generate go run gen_wasm.go

import "slices"

// gemmKernel names the kernel in use, for benchmarks and reports. SIMD128
// is part of every WebAssembly runtime Go's wasm ports run on (V8,
// SpiderMonkey, JavaScriptCore, wazero, wasmtime), so there is no runtime
// fallback; builds without GOEXPERIMENT=simd (or before Go 1.27, whose
// assembler first knows the SIMD128 opcodes) use the generic kernels.
const gemmKernel = "wasm simd128"

// hasFMA reports whether FMA kernels exist here: none. Relaxed SIMD's
// f32x4.relaxed_madd may or may not fuse, at the runtime's choice, and a
// module holding it fails to load where relaxed SIMD is off (Node 20), so
// Mode FMA runs the exact kernels on wasm.
const hasFMA = false

// convWasmX8 and convWasmX4 compute convGemm for an 8- or 4-column block of
// B and C (gemm_wasm.s, written by gen_wasm.go): m rows, segs segments of k
// products each, then bias and PReLU (alpha nil: none). All need m, k and
// segs >= 1.
//
//go:noescape
func convWasmX8(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, segs, segA int, bias, alpha *float32)

//go:noescape
func convWasmX4(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, segs, segA int, bias, alpha *float32)

// convGemm is the product every convolution runs on; see convGemmGeneric,
// whose results the SIMD128 kernels reproduce bit for bit: they vectorise
// across columns, so every C element still sums its products in order,
// from zero, each product rounded before the add, then adds the bias and
// applies PReLU. fma is ignored (hasFMA is false). The columns run in
// blocks of eight (four when n < 8); the last block ends at column n,
// overlapping the one before when n is not a multiple of its width (those
// columns are computed again, with the same bits), so nothing past column
// n is read or written.
func convGemm(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int, bias, alpha []float32, fma bool) {
	if m == 0 || n < 4 || segs == 0 || segLen == 0 {
		convGemmGeneric(m, n, segs, segLen, a, lda, segA, b, ldb, c, ldc, bias, alpha, false)
		return
	}
	// The kernels index without bounds checks: check the extents here.
	_ = a[(m-1)*lda+(segs-1)*segA+segLen-1]
	_ = b[(segs*segLen-1)*ldb+n-1]
	_ = c[(m-1)*ldc+n-1]
	_ = bias[n-1]
	if alpha != nil {
		_ = alpha[n-1]
	}
	at := func(j int) *float32 {
		if alpha == nil {
			return nil
		}
		return &alpha[j]
	}
	j := 0
	for ; j+8 <= n; j += 8 {
		convWasmX8(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, segs, segA, &bias[j], at(j))
	}
	if j > 0 && n-j > 4 {
		j = n - 8
		convWasmX8(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, segs, segA, &bias[j], at(j))
		return
	}
	for ; j < n; j += 4 {
		j = min(j, n-4)
		convWasmX4(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, segs, segA, &bias[j], at(j))
	}
}

//go:noescape
func maxWindowsWasm(dst, src *float32, n, c, xstep int, offs *int, noffs int)

// maxWindows is the pooling of n windows; see maxWindowsGeneric, whose
// results the SIMD128 version reproduces bit for bit (f32x4.pmax keeps the
// max unless the new value is greater, as the generic loop does).
func maxWindows(dst, src []float32, n, c, xstep int, offs []int) {
	if n == 0 || c < 4 || len(offs) == 0 {
		maxWindowsGeneric(dst, src, n, c, xstep, offs)
		return
	}
	_ = dst[n*c-1]
	_ = src[(n-1)*xstep+slices.Max(offs)+c-1]
	if slices.Min(offs) < 0 {
		panic("nets: maxWindows: bad window offsets")
	}
	maxWindowsWasm(&dst[0], &src[0], n, c, xstep, &offs[0], len(offs))
}
