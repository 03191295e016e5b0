//go:build ignore

// gen_amd64.go writes gemm_kernels_amd64.s, the AVX2 and AVX-512 GEMM
// kernels: one template, four instances (16 and masked 8 columns with AVX2,
// 32 with a masked upper half and masked 16 with AVX-512). Run
// "go generate" in this folder after editing it; a test checks that the
// committed file is what it writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
)

// kernel describes one instance of the template.
type kernel struct {
	name   string
	reg    string // "Y" (AVX2) or "Z" (AVX-512)
	vecs   int    // vectors of C per row: 1 or 2
	masked int    // index of the masked vector, or -1
	args   string // Go signature, for the comment
	frame  string // argument frame size
	doc    string
	temps  int // temporaries for products, from register 11
}

var kernels = []kernel{
	{"gemmAVX2x16", "Y", 2, -1, "(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, segs, segA int)", "$0-80",
		"C[i, 0:16] += sum_p A[i, p] * B[p, 0:16], four rows of C at a time.", 4},
	{"gemmAVX2x8", "Y", 1, 0, "(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask *[8]int32, segs, segA int)", "$0-88",
		"C[i, 0:8] += sum_p A[i, p] * B[p, 0:8] for the columns mask enables (all\n// ones in a lane enables it); nothing else is read or written.", 4},
	{"gemmAVX512x32", "Z", 2, 1, "(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask1 uint16, segs, segA int)", "$0-88",
		"C[i, 0:32] += sum_p A[i, p] * B[p, 0:32]; columns 16..31 are masked by\n// mask1 (bit l enables column 16+l), nothing else is read or written.", 8},
	{"gemmAVX512x16", "Z", 1, 0, "(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask uint16, segs, segA int)", "$0-88",
		"C[i, 0:16] += sum_p A[i, p] * B[p, 0:16] for the columns mask enables\n// (bit l enables column l); nothing else is read or written.", 8},
}

type writer struct{ bytes.Buffer }

func (w *writer) f(format string, args ...any) { fmt.Fprintf(&w.Buffer, format+"\n", args...) }

// segOffsets returns the frame offsets of the segs and segA arguments.
func (k kernel) segOffsets() (int, int) {
	if k.masked < 0 {
		return 64, 72
	}
	return 72, 80
}

// segAdjust loads into R15 the byte step from the end of one segment of an
// A row to the start of the next: segA*4 - k*4.
func (k kernel) segAdjust(w *writer) {
	_, off := k.segOffsets()
	w.f("	MOVQ segA+%d(FP), R15", off)
	w.f("	SUBQ R9, R15")
	w.f("	SHLQ $2, R15")
}

func (k kernel) width() int { return map[string]int{"Y": 32, "Z": 64}[k.reg] }

func (k kernel) r(i int) string { return fmt.Sprintf("%s%d", k.reg, i) }

// load and store move vector v of a C row (or B row) at off(base).
func (k kernel) load(v int, off, base, dst string) string {
	switch {
	case v != k.masked:
		return fmt.Sprintf("VMOVUPS %s(%s), %s", off, base, dst)
	case k.reg == "Y":
		return fmt.Sprintf("VMASKMOVPS %s(%s), Y15, %s", off, base, dst)
	default:
		return fmt.Sprintf("VMOVUPS.Z %s(%s), K1, %s", off, base, dst)
	}
}

func (k kernel) store(v int, src, off, base string) string {
	switch {
	case v != k.masked:
		return fmt.Sprintf("VMOVUPS %s, %s(%s)", src, off, base)
	case k.reg == "Y":
		return fmt.Sprintf("VMASKMOVPS %s, Y15, %s(%s)", src, off, base)
	default:
		return fmt.Sprintf("VMOVUPS %s, K1, %s(%s)", src, off, base)
	}
}

func (k kernel) off(v int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(v * k.width())
}

func (k kernel) acc(row, v int) string { return k.r(row*k.vecs + v) }

func (k kernel) emit(w *writer) {
	label := k.name[4:] // e.g. AVX2x16
	w.f("// func %s%s", k.name, k.args)
	w.f("//")
	w.f("// %s", k.doc)
	w.f("// A row's k values come in segs segments, segA floats apart (the kernel")
	w.f("// rows of a convolution); B's segs*k rows are contiguous. Each product is")
	w.f("// rounded before it is added (VMULPS, then VADDPS) and each C element")
	w.f("// sums its products in order, as gemmSegGeneric does.")
	w.f("TEXT ·%s(SB), NOSPLIT, %s", k.name, k.frame)
	for i, a := range [][2]string{{"m+0", "R8"}, {"k+8", "R9"}, {"a+16", "SI"}, {"lda+24", "R10"}, {"b+32", "DI"}, {"ldb+40", "R11"}, {"c+48", "DX"}, {"ldc+56", "R12"}} {
		w.f("\tMOVQ %s(FP), %s", a[0], a[1])
		if i == 3 || i == 5 || i == 7 {
			w.f("\tSHLQ $2, %s", a[1])
		}
	}
	switch {
	case k.masked >= 0 && k.reg == "Y":
		w.f("\tMOVQ mask+64(FP), AX")
		w.f("\tVMOVDQU (AX), Y15")
	case k.masked >= 0:
		w.f("\tMOVWQZX mask%s+64(FP), AX", map[bool]string{true: "1", false: ""}[k.masked == 1])
		w.f("\tKMOVW AX, K1")
	}
	rowBase := []string{"DX", "R13", "R14", "R15"}
	aRow := []string{"(AX)", "(BX)", "(AX)(R10*2)", "(BX)(R10*2)"}

	// Four rows at a time.
	w.f("")
	w.f("%s_rows4:", label)
	w.f("\tCMPQ R8, $4")
	w.f("\tJLT  %s_rows1", label)
	k.rowPointers(w)
	for row := 0; row < 4; row++ {
		for v := 0; v < k.vecs; v++ {
			w.f("\t%s", k.load(v, k.off(v), rowBase[row], k.acc(row, v)))
		}
	}
	w.f("\tMOVQ SI, AX")
	w.f("\tLEAQ (SI)(R10*1), BX")
	w.f("\tMOVQ DI, R14")
	segs, _ := k.segOffsets()
	w.f("\tMOVQ segs+%d(FP), CX", segs)
	k.segAdjust(w)
	w.f("")
	w.f("%s_seg4:", label)
	w.f("\tMOVQ R9, R13")
	w.f("")
	w.f("%s_loop4:", label)
	k.loadB(w)
	t := 0
	for row := 0; row < 4; row++ {
		w.f("\tVBROADCASTSS %s, %s", aRow[row], k.r(10))
		for v := 0; v < k.vecs; v++ {
			tmp := k.r(11 + t%k.temps)
			t++
			w.f("\tVMULPS %s, %s, %s", k.r(8+v), k.r(10), tmp)
			w.f("\tVADDPS %s, %s, %s", tmp, k.acc(row, v), k.acc(row, v))
		}
	}
	w.f("\tADDQ $4, AX")
	w.f("\tADDQ $4, BX")
	w.f("\tADDQ R11, R14")
	w.f("\tDECQ R13")
	w.f("\tJNZ  %s_loop4", label)
	w.f("\tADDQ R15, AX")
	w.f("\tADDQ R15, BX")
	w.f("\tDECQ CX")
	w.f("\tJNZ  %s_seg4", label)
	w.f("")
	k.rowPointers(w)
	for row := 0; row < 4; row++ {
		for v := 0; v < k.vecs; v++ {
			w.f("\t%s", k.store(v, k.acc(row, v), k.off(v), rowBase[row]))
		}
	}
	w.f("\tLEAQ (SI)(R10*4), SI")
	w.f("\tLEAQ (DX)(R12*4), DX")
	w.f("\tSUBQ $4, R8")
	w.f("\tJMP  %s_rows4", label)

	// Then one row at a time.
	w.f("")
	w.f("%s_rows1:", label)
	w.f("\tTESTQ R8, R8")
	w.f("\tJZ    %s_done", label)
	for v := 0; v < k.vecs; v++ {
		w.f("\t%s", k.load(v, k.off(v), "DX", k.acc(0, v)))
	}
	w.f("\tMOVQ SI, AX")
	w.f("\tMOVQ DI, R14")
	w.f("\tMOVQ segs+%d(FP), CX", segs)
	k.segAdjust(w)
	w.f("")
	w.f("%s_seg1:", label)
	w.f("\tMOVQ R9, R13")
	w.f("")
	w.f("%s_loop1:", label)
	k.loadB(w)
	w.f("\tVBROADCASTSS (AX), %s", k.r(10))
	for v := 0; v < k.vecs; v++ {
		tmp := k.r(11 + v)
		w.f("\tVMULPS %s, %s, %s", k.r(8+v), k.r(10), tmp)
		w.f("\tVADDPS %s, %s, %s", tmp, k.acc(0, v), k.acc(0, v))
	}
	w.f("\tADDQ $4, AX")
	w.f("\tADDQ R11, R14")
	w.f("\tDECQ R13")
	w.f("\tJNZ  %s_loop1", label)
	w.f("\tADDQ R15, AX")
	w.f("\tDECQ CX")
	w.f("\tJNZ  %s_seg1", label)
	for v := 0; v < k.vecs; v++ {
		w.f("\t%s", k.store(v, k.acc(0, v), k.off(v), "DX"))
	}
	w.f("\tADDQ R10, SI")
	w.f("\tADDQ R12, DX")
	w.f("\tDECQ R8")
	w.f("\tJMP  %s_rows1", label)
	w.f("")
	w.f("%s_done:", label)
	w.f("\tVZEROUPPER")
	w.f("\tRET")
	w.f("")
}

// rowPointers sets R13, R14, R15 to C rows 1, 2, 3 (DX is row 0).
func (k kernel) rowPointers(w *writer) {
	w.f("\tLEAQ (DX)(R12*1), R13")
	w.f("\tLEAQ (R13)(R12*1), R14")
	w.f("\tLEAQ (R14)(R12*1), R15")
}

func (k kernel) loadB(w *writer) {
	for v := 0; v < k.vecs; v++ {
		w.f("\t%s", k.load(v, k.off(v), "R14", k.r(8+v)))
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
	if err := os.WriteFile(*out, bytes.TrimSuffix(w.Bytes(), []byte("\n")), 0o644); err != nil {
		log.Fatal(err)
	}
}
