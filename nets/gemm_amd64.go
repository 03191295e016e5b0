//go:build amd64 && !purego

package nets

//go:generate go run gen_amd64.go

import (
	"slices"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the AVX2 kernels; without AVX2 the generic ones run.
var useAVX2 = cpu.X86.HasAVX2

// useAVX512 selects the AVX-512 kernels where the CPU has AVX-512F.
var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX2

// hasFMA reports whether the FMA kernels can run: FMA3 beside AVX2.
var hasFMA = cpu.X86.HasFMA && cpu.X86.HasAVX2

// gemmKernel names the kernel in use, for benchmarks and reports.
var gemmKernel = func() string {
	switch {
	case useAVX512:
		return "avx512"
	case useAVX2:
		return "avx2"
	}
	return "generic"
}()

// The generated kernels (gemm_kernels_amd64.s) compute up to 64, 48, 32 or
// 16 (AVX-512) or 16 or 8 (AVX2) columns of convGemm; the last vector of
// each is masked, so nothing past the last column is read or written. The
// FMA versions fuse each multiply and add.

//go:noescape
func convAVX512x64(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x48(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x64FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x48FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x32(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX2x16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask *[8]int32, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX2x8(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask *[8]int32, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x32FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX2x16FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask *[8]int32, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX2x8FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask *[8]int32, segs, segA int, bias, alpha *float32)

// avx512Kernel is the signature of the AVX-512 kernels.
type avx512Kernel func(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

// fixedStride returns the one-vector (vecs 1) or two-vector (vecs 2)
// kernel for a fixed A row stride of lda floats (see gen_amd64.go), or nil
// when there is none. A switch, not a map: convGemm runs once per
// convolution row, tens of thousands of times a detection.
func fixedStride(vecs, lda int, fma bool) avx512Kernel {
	var k [2]avx512Kernel
	switch {
	case vecs == 1 && lda == 3:
		k = [2]avx512Kernel{convAVX512x16L3, convAVX512x16L3FMA}
	case vecs == 1 && lda == 10:
		k = [2]avx512Kernel{convAVX512x16L10, convAVX512x16L10FMA}
	case vecs == 1 && lda == 32:
		k = [2]avx512Kernel{convAVX512x16L32, convAVX512x16L32FMA}
	case vecs == 2 && lda == 16:
		k = [2]avx512Kernel{convAVX512x32L16, convAVX512x32L16FMA}
	}
	if fma {
		return k[1]
	}
	return k[0]
}

//go:noescape
func convAVX512x32L16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x32L16FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16L3(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16L10(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16L32(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16L3FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16L10FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

//go:noescape
func convAVX512x16L32FMA(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int, bias, alpha *float32)

// laneMasks[w] enables the first w lanes.
var laneMasks = func() (t [9][8]int32) {
	for w := range t {
		for l := 0; l < w; l++ {
			t[w][l] = -1
		}
	}
	return t
}()

// convGemm is the product every convolution runs on; see convGemmGeneric,
// whose results the AVX-512 and AVX2 kernels reproduce bit for bit in
// either mode: they vectorise across columns, so every C element still sums
// its products in order, from zero, then adds the bias and applies PReLU.
// With fma set and a CPU without FMA3, the exact kernels run.
func convGemm(m, n, segs, segLen int, a []float32, lda, segA int, b []float32, ldb int, c []float32, ldc int, bias, alpha []float32, fma bool) {
	if !useAVX2 || m == 0 || n == 0 || segs == 0 || segLen == 0 {
		convGemmGeneric(m, n, segs, segLen, a, lda, segA, b, ldb, c, ldc, bias, alpha, fma && hasFMA)
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
	fma = fma && hasFMA
	// The kernels take rows a block at a time (eight, or five in the
	// 64-column kernel), then the rest as one block; a rest of one to three
	// rows (one or two of five) keeps too few sums in flight, so the last
	// block and the rest run as two blocks of about equal size.
	blk, few := 8, 4
	if n > 48 {
		blk, few = 5, 3
	}
	if rest := m % blk; useAVX512 && m > blk && rest != 0 && rest < few {
		r := rest + blk
		h := r / 2
		top := m - r
		if top > 0 {
			convGemm(top, n, segs, segLen, a, lda, segA, b, ldb, c, ldc, bias, alpha, fma)
		}
		convGemm(r-h, n, segs, segLen, a[top*lda:], lda, segA, b, ldb, c[top*ldc:], ldc, bias, alpha, fma)
		convGemm(h, n, segs, segLen, a[(top+r-h)*lda:], lda, segA, b, ldb, c[(top+r-h)*ldc:], ldc, bias, alpha, fma)
		return
	}
	if useAVX512 {
		x64, x48, x32, x16 := convAVX512x64, convAVX512x48, convAVX512x32, convAVX512x16
		if fma {
			x64, x48, x32, x16 = convAVX512x64FMA, convAVX512x48FMA, convAVX512x32FMA, convAVX512x16FMA
		}
		if f := fixedStride(1, lda, fma); f != nil && n <= 16 {
			x16 = f
		}
		if f := fixedStride(2, lda, fma); f != nil && n <= 32 {
			x32 = f
		}
		// The widest kernel that the columns left fill beyond its last
		// vector: each runs its last vector masked to what is left.
		for j := 0; j < n; {
			left := n - j
			kern, width := x16, 16
			switch {
			case left > 48:
				kern, width = x64, 64
			case left > 32:
				kern, width = x48, 48
			case left > 16:
				kern, width = x32, 32
			}
			mask := uint16(1<<min(16, left-(width-16)) - 1)
			kern(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, mask, segs, segA, &bias[j], at(j))
			j += min(width, left)
		}
		return
	}
	x16, x8 := convAVX2x16, convAVX2x8
	if fma {
		x16, x8 = convAVX2x16FMA, convAVX2x8FMA
	}
	j := 0
	for ; n-j > 8; j += 16 {
		x16(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, &laneMasks[min(8, n-j-8)], segs, segA, &bias[j], at(j))
	}
	if j < n {
		x8(m, segLen, &a[0], lda, &b[j], ldb, &c[j], ldc, &laneMasks[n-j], segs, segA, &bias[j], at(j))
	}
}

// lastMask returns the mask of the lanes of the last block of an n-long run
// processed eight at a time.
func lastMask(n int) *[8]int32 { return &laneMasks[n-8*((n-1)/8)] }

//go:noescape
func maxWindowsAVX2(dst, src *float32, n, c, xstep int, offs *int, noffs int, mask *[8]int32)

//go:noescape
func maxWindowsAVX512(dst, src *float32, n, c, xstep int, offs *int, noffs int, masks *[4]uint16)

// maxWindows is the pooling of n windows; see maxWindowsGeneric, whose
// results the AVX2 and AVX-512 versions reproduce bit for bit.
func maxWindows(dst, src []float32, n, c, xstep int, offs []int) {
	if !useAVX2 || n == 0 || c == 0 || len(offs) == 0 {
		maxWindowsGeneric(dst, src, n, c, xstep, offs)
		return
	}
	_ = dst[n*c-1]
	_ = src[(n-1)*xstep+slices.Max(offs)+c-1]
	if offs[0] != 0 || slices.Min(offs) < 0 {
		panic("nets: maxWindows: bad window offsets")
	}
	if useAVX512 && c <= 64 {
		var masks [4]uint16
		for v := range masks {
			masks[v] = uint16(1<<min(16, max(0, c-16*v)) - 1)
		}
		maxWindowsAVX512(&dst[0], &src[0], n, c, xstep, &offs[0], len(offs), &masks)
		return
	}
	maxWindowsAVX2(&dst[0], &src[0], n, c, xstep, &offs[0], len(offs), lastMask(c))
}
