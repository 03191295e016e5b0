//go:build ignore

// gen_amd64.go writes gemm_kernels_amd64.s, the AVX2 and AVX-512 kernels
// every convolution runs on: one template, twelve instances (16 columns
// with a masked upper half and masked 8 with AVX2; 64, 48 and 32 with a
// masked last vector and masked 16 with AVX-512; each with a separate
// multiply and add, and with fused multiply-add). Run "go generate" in this folder after editing
// it; a test checks that the committed file is what it writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
)

// kernel describes one instance of the template.
type kernel struct {
	name string
	reg  string // "Y" (AVX2) or "Z" (AVX-512)
	vecs int    // vectors of C per row: 1 to 4; the last one is masked
	// blocks are the row blocks, largest first, down to 1: the rows left
	// after the largest blocks run as one smaller block, so that enough
	// independent sums stay in flight to hide the add latency.
	blocks []int
	fma    bool // VFMADD231PS instead of VMULPS then VADDPS
	// lda, when not 0, is A's row stride in floats, fixed: every row's
	// value is then addressed from one pointer with a constant offset,
	// which the FMA fuses with its load (an indexed address costs the
	// one-vector kernels an extra micro-op per row, and those are bound by
	// micro-ops), and blocks of 16 rows fit.
	lda int
}

var kernels = func() (ks []kernel) {
	for _, fma := range []bool{false, true} {
		suffix := ""
		if fma {
			suffix = "FMA"
		}
		ks = append(ks,
			kernel{"convAVX2x16" + suffix, "Y", 2, []int{4, 3, 2, 1}, fma, 0},
			kernel{"convAVX2x8" + suffix, "Y", 1, []int{8, 4, 3, 2, 1}, fma, 0},
			// Wider rows reuse each broadcast A value for more columns
			// and keep more sums in flight on rows only a few pixels
			// long (R-Net's 9, the 3 of R-Net's and O-Net's last
			// convolutions).
			kernel{"convAVX512x64" + suffix, "Z", 4, []int{5, 4, 3, 2, 1}, fma, 0},
			kernel{"convAVX512x48" + suffix, "Z", 3, []int{8, 7, 6, 5, 4, 3, 2, 1}, fma, 0},
			kernel{"convAVX512x32" + suffix, "Z", 2, []int{8, 7, 6, 5, 4, 3, 2, 1}, fma, 0},
			kernel{"convAVX512x16" + suffix, "Z", 1, []int{8, 7, 6, 5, 4, 3, 2, 1}, fma, 0},
		)
		// P-Net's first two convolutions (3 and 10 input channels: A's
		// rows are one input pixel apart) and the heads after a
		// 32-channel convolution.
		for _, lda := range []int{3, 10, 32} {
			ks = append(ks, kernel{fmt.Sprintf("convAVX512x16L%d%s", lda, suffix), "Z", 1, []int{16, 8, 7, 6, 5, 4, 3, 2, 1}, fma, lda})
		}
		// P-Net's conv3 (16 input channels): with one A pointer, 12-row
		// blocks fit. (R-Net's and O-Net's first convolutions, 3 input
		// channels on rows 22 and 46 pixels long, measured no faster.)
		ks = append(ks, kernel{"convAVX512x32L16" + suffix, "Z", 2, []int{12, 8, 7, 6, 5, 4, 3, 2, 1}, fma, 16})
	}
	return ks
}()

type writer struct{ bytes.Buffer }

func (w *writer) f(format string, args ...any) { fmt.Fprintf(&w.Buffer, format+"\n", args...) }

func (k kernel) width() int { return map[string]int{"Y": 32, "Z": 64}[k.reg] }
func (k kernel) lanes() int { return k.width() / 4 }
func (k kernel) r(i int) string {
	return fmt.Sprintf("%s%d", k.reg, i)
}

// Registers: accumulators from 0 (row*vecs+v: at most 8 with AVX2, 16 to
// 24 with AVX-512), then the B vectors, the broadcast A value and product
// temporaries (AVX2's mask lives in Y15, so it gets four; AVX-512 up to
// eight, at least one per vector for the epilogue's PReLU slopes).
func (k kernel) acc(row, v int) string { return k.r(row*k.vecs + v) }

// base is the first register after the accumulators.
func (k kernel) base() int {
	if k.reg == "Y" {
		return 8
	}
	return max(16, k.vecs*k.blocks[0])
}

func (k kernel) bReg(v int) string { return k.r(k.base() + v) }
func (k kernel) bcast() string     { return k.r(k.base() + max(2, k.vecs)) }
func (k kernel) temp(i int) string { return k.r(k.base() + max(2, k.vecs) + 1 + i) }
func (k kernel) temps() int {
	if k.reg == "Y" {
		return 4
	}
	return min(8, 31-(k.base()+max(2, k.vecs)))
}

// zero clears register r (VXORPS on a ZMM register needs AVX512DQ; VPXORD
// needs only AVX512F).
func (k kernel) zero(r string) string {
	if k.reg == "Z" {
		return fmt.Sprintf("VPXORD %s, %s, %s", r, r, r)
	}
	return fmt.Sprintf("VXORPS %s, %s, %s", r, r, r)
}

// masked reports whether vector v is the masked one (the last).
func (k kernel) masked(v int) bool { return v == k.vecs-1 }

func (k kernel) off(v int, base string) string {
	if v == 0 {
		return "(" + base + ")"
	}
	return fmt.Sprintf("%d(%s)", v*k.width(), base)
}

// load moves vector v at base (a B, bias or alpha row) into dst, reading
// only the enabled lanes of the masked vector.
func (k kernel) load(v int, base, dst string) string {
	switch {
	case !k.masked(v):
		return fmt.Sprintf("VMOVUPS %s, %s", k.off(v, base), dst)
	case k.reg == "Y":
		return fmt.Sprintf("VMASKMOVPS %s, Y15, %s", k.off(v, base), dst)
	default:
		return fmt.Sprintf("VMOVUPS.Z %s, K1, %s", k.off(v, base), dst)
	}
}

func (k kernel) store(v int, src, base string) string {
	switch {
	case !k.masked(v):
		return fmt.Sprintf("VMOVUPS %s, %s", src, k.off(v, base))
	case k.reg == "Y":
		return fmt.Sprintf("VMASKMOVPS %s, Y15, %s", src, k.off(v, base))
	default:
		return fmt.Sprintf("VMOVUPS %s, K1, %s", src, k.off(v, base))
	}
}

// aRows gives the address of the current A value of each row of a block:
// AX is row 0, BX row 1, R12 row 6.
var aRows = []string{"(AX)", "(BX)", "(AX)(R10*2)", "(BX)(R10*2)", "(AX)(R10*4)", "(BX)(R10*4)", "(R12)", "(R12)(R10*1)"}

// aRow gives the address of the current A value of row row of a block.
func (k kernel) aRow(row int) string {
	if k.lda == 0 {
		return aRows[row]
	}
	if row == 0 {
		return "(AX)"
	}
	return fmt.Sprintf("%d(AX)", 4*row*k.lda)
}

// aPointers lists the A row registers a block of rows advances.
func (k kernel) aPointers(rows int) []string {
	switch {
	case k.lda != 0:
		return []string{"AX"}
	case rows > 6:
		return []string{"AX", "BX", "R12"}
	case rows > 1:
		return []string{"AX", "BX"}
	}
	return []string{"AX"}
}

const (
	doc = `// func %s(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask %s, segs, segA int, bias, alpha *float32)
//
// C[i, 0:%d] = act(bias + sum_p A[i, p] * B[p, 0:%d]) for m rows of C, where act
// is PReLU with slopes alpha (x > 0 ? x : alpha*x), or nothing when alpha
// is nil. %s
// A row's k values come in segs segments, segA floats apart (the kernel
// rows of a convolution); B's segs*k rows are contiguous. Every C element
// starts at zero and sums its products in order, as convGemmGeneric does,
// %s`
	exactDoc = "rounding each product before it is added (VMULPS, then VADDPS)."
	fmaDoc   = "with one rounding per multiply-add (VFMADD231PS), as with FMA set."
)

func (k kernel) emit(w *writer) {
	label := k.name[4:] // e.g. AVX2x16
	cols := k.lanes() * k.vecs
	var maskType, maskDoc string
	if k.reg == "Y" {
		maskType = "*[8]int32"
		maskDoc = fmt.Sprintf("mask enables the lanes of columns %d..%d\n// (all ones in a lane enables it); nothing past them is read or written.", cols-8, cols-1)
	} else {
		maskType = "uint16"
		maskDoc = fmt.Sprintf("Bit l of mask enables column %d+l; nothing past\n// the enabled columns is read or written.", cols-16)
	}
	how := exactDoc
	if k.fma {
		how = fmaDoc
	}
	w.f(doc, k.name, maskType, cols, cols, maskDoc, how)
	if k.lda != 0 {
		w.f("// This instance takes lda = %d only, as a constant.", k.lda)
	}
	w.f("TEXT ·%s(SB), NOSPLIT, $0-104", k.name)
	for i, a := range [][2]string{{"m+0", "R8"}, {"k+8", "R9"}, {"a+16", "SI"}, {"lda+24", "R10"}, {"b+32", "DI"}, {"ldb+40", "R11"}, {"c+48", "DX"}} {
		w.f("\tMOVQ %s(FP), %s", a[0], a[1])
		if i == 3 || i == 5 {
			w.f("\tSHLQ $2, %s", a[1])
		}
	}
	if k.reg == "Y" {
		w.f("\tMOVQ mask+64(FP), AX")
		w.f("\tVMOVDQU (AX), Y15")
	} else {
		w.f("\tMOVWQZX mask+64(FP), AX")
		w.f("\tKMOVW AX, K1")
	}
	// R15: the byte step from the end of one segment of an A row to the
	// start of the next, segA*4 - k*4.
	w.f("\tMOVQ segA+80(FP), R15")
	w.f("\tSUBQ R9, R15")
	w.f("\tSHLQ $2, R15")
	if k.reg == "Z" && (k.temps() < k.vecs || k.base()+max(2, k.vecs)+k.temps() > 31) {
		log.Fatalf("%s: registers do not fit", k.name)
	}
	for bi, rows := range k.blocks {
		k.block(w, label, rows, bi)
	}
	w.f("")
	w.f("%s_done:", label)
	w.f("\tVZEROUPPER")
	w.f("\tRET")
	w.f("")
}

// block emits the loop over blocks of rows rows.
func (k kernel) block(w *writer, label string, rows, bi int) {
	l := fmt.Sprintf("%s_%d", label, rows)
	next := ""
	if bi+1 < len(k.blocks) {
		next = fmt.Sprintf("%s_%d_rows", label, k.blocks[bi+1])
	} else {
		next = label + "_done"
	}
	w.f("")
	w.f("%s_rows:", l)
	w.f("\tCMPQ R8, $%d", rows)
	w.f("\tJLT  %s", next)
	for row := 0; row < rows; row++ {
		for v := 0; v < k.vecs; v++ {
			w.f("\t%s", k.zero(k.acc(row, v)))
		}
	}
	w.f("\tMOVQ SI, AX")
	if rows > 1 && k.lda == 0 {
		w.f("\tLEAQ (SI)(R10*1), BX")
	}
	if rows > 6 && k.lda == 0 {
		w.f("\tLEAQ (SI)(R10*4), R12")
		w.f("\tLEAQ (R12)(R10*2), R12")
	}
	w.f("\tMOVQ DI, R14")
	w.f("\tMOVQ segs+72(FP), CX")
	w.f("")
	w.f("%s_seg:", l)
	w.f("\tMOVQ R9, R13")
	w.f("")
	w.f("%s_loop:", l)
	for v := 0; v < k.vecs; v++ {
		w.f("\t%s", k.load(v, "R14", k.bReg(v)))
	}
	t := 0
	for row := 0; row < rows; row++ {
		// AVX-512 takes a one-vector row's A value as an embedded
		// broadcast; otherwise it is broadcast once into register 10.
		src := k.bcast()
		if k.reg == "Z" && k.vecs == 1 {
			src = k.aRow(row)
		} else {
			w.f("\tVBROADCASTSS %s, %s", k.aRow(row), k.bcast())
		}
		bcst := ""
		if src != k.bcast() {
			bcst = ".BCST"
		}
		for v := 0; v < k.vecs; v++ {
			a := k.acc(row, v)
			if k.fma {
				w.f("\tVFMADD231PS%s %s, %s, %s", bcst, src, k.bReg(v), a)
				continue
			}
			tmp := k.temp(t % k.temps())
			t++
			w.f("\tVMULPS%s %s, %s, %s", bcst, src, k.bReg(v), tmp)
			w.f("\tVADDPS %s, %s, %s", tmp, a, a)
		}
	}
	for _, p := range k.aPointers(rows) {
		w.f("\tADDQ $4, %s", p)
	}
	w.f("\tADDQ R11, R14")
	w.f("\tDECQ R13")
	w.f("\tJNZ  %s_loop", l)
	for _, p := range k.aPointers(rows) {
		w.f("\tADDQ R15, %s", p)
	}
	w.f("\tDECQ CX")
	w.f("\tJNZ  %s_seg", l)
	k.epilogue(w, l, rows)
	// SI += rows*lda
	if k.lda != 0 {
		w.f("\tADDQ $%d, SI", 4*rows*k.lda)
		w.f("\tSUBQ $%d, R8", rows)
		w.f("\tJMP  %s_rows", l)
		return
	}
	done := 0
	for _, step := range []int{8, 4, 2, 1} {
		if rows-done >= step {
			if step == 1 {
				w.f("\tADDQ R10, SI")
			} else {
				w.f("\tLEAQ (SI)(R10*%d), SI", step)
			}
			done += step
		}
	}
	w.f("\tSUBQ $%d, R8", rows)
	w.f("\tJMP  %s_rows", l)
}

// epilogue adds the bias, applies PReLU when alpha is not nil and stores
// the block's rows, leaving DX at the next row of C. Registers: bias where
// the B vectors were, zero in the broadcast register, alpha in the first
// two temporaries, work in the next two.
func (k kernel) epilogue(w *writer, l string, rows int) {
	w.f("\tMOVQ bias+88(FP), AX")
	w.f("\tMOVQ alpha+96(FP), BX")
	w.f("\tMOVQ ldc+56(FP), CX")
	w.f("\tSHLQ $2, CX")
	for v := 0; v < k.vecs; v++ {
		w.f("\t%s", k.load(v, "AX", k.bReg(v)))
	}
	w.f("\tTESTQ BX, BX")
	w.f("\tJZ   %s_linear", l)
	for v := 0; v < k.vecs; v++ {
		w.f("\t%s", k.load(v, "BX", k.temp(v)))
	}
	w.f("\t%s", k.zero(k.bcast()))
	k.stores(w, rows, true)
	w.f("\tJMP  %s_stored", l)
	w.f("%s_linear:", l)
	k.stores(w, rows, false)
	w.f("%s_stored:", l)
}

func (k kernel) stores(w *writer, rows int, prelu bool) {
	for row := 0; row < rows; row++ {
		for v := 0; v < k.vecs; v++ {
			a := k.acc(row, v)
			w.f("\tVADDPS %s, %s, %s", k.bReg(v), a, a)
			if prelu {
				if k.reg == "Y" {
					// a = a > 0 ? a : a*alpha (ordered, quiet compare)
					w.f("\tVMULPS %s, %s, %s", k.temp(v), a, k.temp(2))
					w.f("\tVCMPPS $0x1E, %s, %s, %s", k.bcast(), a, k.temp(3))
					w.f("\tVBLENDVPS %s, %s, %s, %s", k.temp(3), a, k.temp(2), a)
				} else {
					// K2 = !(a > 0) (unordered, quiet); a *= alpha there.
					w.f("\tVCMPPS $0x1A, %s, %s, K2", k.bcast(), a)
					w.f("\tVMULPS %s, %s, K2, %s", k.temp(v), a, a)
				}
			}
			w.f("\t%s", k.store(v, a, "DX"))
		}
		w.f("\tADDQ CX, DX")
	}
}

func main() {
	out := flag.String("o", "gemm_kernels_amd64.s", "output file")
	flag.Parse()
	var w writer
	w.f("// Code generated by gen_amd64.go; DO NOT EDIT.")
	w.f("")
	w.f("//go:build amd64 && !purego")
	w.f("")
	w.f(`#include "textflag.h"`)
	w.f("")
	for _, k := range kernels {
		k.emit(&w)
	}
	b := bytes.TrimSuffix(w.Bytes(), []byte("\n"))
	if strings.Contains(string(b), "%!") {
		log.Fatal("format error in the generated code")
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
