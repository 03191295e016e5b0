//go:build wasm && goexperiment.simd && go1.27 && !purego

package nets

import (
	"math"
	"testing"
)

// v128StoreOffsetProbe stores the four floats at p again 16 bytes further
// on, with the memory offset in the store instruction (probe_wasm.s).
//
//go:noescape
func v128StoreOffsetProbe(p *float32)

// TestWasmV128StoreOffset pins down the assembler bug the kernels work
// around: a one-operand "V128Store $off" loses its offset, so gen_wasm.go
// computes every store's whole address (TestWasmStoresHaveNoOffset checks
// the generated file). Should a toolchain encode the offset, this fails,
// and the workaround may go. The kernels' own stores are then checked
// where the offset would have mattered: every vector of an 8-column block
// at each of four rows, C starting at every alignment.
func TestWasmV128StoreOffset(t *testing.T) {
	buf := []float32{1, 2, 3, 4, 0, 0, 0, 0}
	v128StoreOffsetProbe(&buf[0])
	switch {
	case buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0:
		t.Log("V128Store $16 stored at offset 0: the assembler bug is there, and worked around")
	case buf[4] == 1 && buf[7] == 4:
		t.Errorf("V128Store $16 now keeps its offset (%v): the assembler is fixed; gen_wasm.go's full addresses may use store offsets again", buf)
	default:
		t.Fatalf("V128Store $16 probe: %v", buf)
	}

	// Each C element of a 4-row, 8-column block gets a distinct value
	// (A row r is r+1, B column j is j+1, k = 1): a store landing at the
	// wrong offset shows as a wrong value or a clobbered sentinel.
	const m, n, ldc = 4, 8, 13
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	bias := make([]float32, n)
	for off := range 4 {
		c := make([]float32, off+(m-1)*ldc+n+4)
		for i := range c {
			c[i] = -1
		}
		convGemm(m, n, 1, 1, a, 1, 0, b, n, c[off:], ldc, bias, nil, false)
		for i, v := range c {
			want := float32(-1)
			if p := i - off; p >= 0 && p/ldc < m && p%ldc < n {
				want = float32((p/ldc + 1) * (p%ldc + 1))
			}
			if math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("C at offset %d: c[%d] = %v, want %v", off, i, v, want)
			}
		}
	}
}
