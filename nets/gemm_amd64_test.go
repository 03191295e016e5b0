//go:build amd64 && !purego

package nets

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

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

// TestGeneratedKernelsUpToDate checks that gemm_kernels_amd64.s is what
// gen_amd64.go writes.
func TestGeneratedKernelsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := filepath.Join(t.TempDir(), "k.s")
	if b, err := exec.Command("go", "run", "gen_amd64.go", "-o", out).CombinedOutput(); err != nil {
		t.Skipf("cannot run the generator: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("gemm_kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("gemm_kernels_amd64.s is stale: run go generate ./nets")
	}
}
