//go:build amd64 && !purego

package nets

import "testing"

// TestConvGemmAVX2MatchesGeneric checks the AVX2 kernels against the
// generic specification on machines whose default is the AVX-512 kernel.
func TestConvGemmAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 || !useAVX512 {
		t.Skip("AVX2 is the default kernel here, or absent")
	}
	defer func(old bool) { useAVX512 = old }(useAVX512)
	useAVX512 = false
	checkConvGemm(t)
}

// TestMaxWindowsAVX2 runs the pooling test on the AVX2 kernel where the
// AVX-512 one would otherwise take every channel count up to 64.
func TestMaxWindowsAVX2(t *testing.T) {
	if !useAVX2 || !useAVX512 {
		t.Skip("TestMaxWindowsKernel already runs the AVX2 or generic kernel here")
	}
	defer func(old bool) { useAVX512 = old }(useAVX512)
	useAVX512 = false
	TestMaxWindowsKernel(t)
}

// BenchmarkConvGemmAVX2 is BenchmarkConvGemm on the AVX2 kernels, which
// CPUs without AVX-512 run, on a machine that has it.
func BenchmarkConvGemmAVX2(b *testing.B) {
	if !useAVX2 || !useAVX512 {
		b.Skip("AVX2 is the default kernel here, or absent")
	}
	defer func(old bool) { useAVX512 = old }(useAVX512)
	useAVX512 = false
	BenchmarkConvGemm(b)
}
