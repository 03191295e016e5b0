//go:build amd64 && !purego

package nets

import "testing"

// TestGemmAVX2MatchesGeneric checks the AVX2 kernels against the generic
// one on machines whose default is the AVX-512 kernel.
func TestGemmAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	defer func(old bool) { useAVX512 = old }(useAVX512)
	useAVX512 = false
	checkGemm(t)
}
