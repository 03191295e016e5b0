//go:build arm64 && !purego

#include "textflag.h"

// The Go assembler has no mnemonics for these Advanced SIMD floating-point
// instructions, so they are encoded by hand (ARM ARM, "Advanced SIMD three
// same" and "two-register miscellaneous", sz=0: single precision; Q=1: .4S,
// Q=0: .2S; Rd in bits 0-4, Rn in 5-9, Rm in 16-20). Checked against
// llvm-mc's encodings and by disassembling the built object; the tests in
// gemm_arm64_test.go check their results.
//
//	FMUL  Vd.4S, Vn.4S, Vm.4S    0x6E20DC00 | Rm<<16 | Rn<<5 | Rd
//	FADD  Vd.4S, Vn.4S, Vm.4S    0x4E20D400 | Rm<<16 | Rn<<5 | Rd
//	FMUL  Vd.2S, Vn.2S, Vm.2S    0x2E20DC00 | Rm<<16 | Rn<<5 | Rd
//	FADD  Vd.2S, Vn.2S, Vm.2S    0x0E20D400 | Rm<<16 | Rn<<5 | Rd
//	FCMGT Vd.4S, Vn.4S, Vm.4S    0x6EA0E400 | Rm<<16 | Rn<<5 | Rd   (Vd = Vn > Vm ? ones : 0)
//	FCMGT Vd.4S, Vn.4S, #0.0     0x4EA0C800 | Rn<<5 | Rd            (Vd = Vn > 0 ? ones : 0)
//
// Products and sums are separate instructions (never FMLA, which fuses them
// and rounds once), so results match gemmGeneric bit for bit.
#define FMUL4S(d, n, m) WORD $(0x6E20DC00 | (m)<<16 | (n)<<5 | (d))
#define FADD4S(d, n, m) WORD $(0x4E20D400 | (m)<<16 | (n)<<5 | (d))
#define FMUL2S(d, n, m) WORD $(0x2E20DC00 | (m)<<16 | (n)<<5 | (d))
#define FADD2S(d, n, m) WORD $(0x0E20D400 | (m)<<16 | (n)<<5 | (d))
#define FCMGT4S(d, n, m) WORD $(0x6EA0E400 | (m)<<16 | (n)<<5 | (d))
#define FCMGTZ4S(d, n) WORD $(0x4EA0C800 | (n)<<5 | (d))

// ROWn(a, t..., c...): C row += B block * broadcast A value: Vc += Vt where
// Vt = Vb * Va, B in V16 upwards. Products first, then sums, so in-order
// cores need not wait on each product.
#define ROW16(a, t0, t1, t2, t3, c0, c1, c2, c3) \
	FMUL4S(t0, 16, a); FMUL4S(t1, 17, a); FMUL4S(t2, 18, a); FMUL4S(t3, 19, a); \
	FADD4S(c0, c0, t0); FADD4S(c1, c1, t1); FADD4S(c2, c2, t2); FADD4S(c3, c3, t3)

#define ROW8(a, t0, t1, c0, c1) \
	FMUL4S(t0, 16, a); FMUL4S(t1, 17, a); \
	FADD4S(c0, c0, t0); FADD4S(c1, c1, t1)

#define ROW4(a, t, c) FMUL4S(t, 16, a); FADD4S(c, c, t)

#define ROW2(a, t, c) FMUL2S(t, 16, a); FADD2S(c, c, t)

// Registers of every gemm kernel: R0 rows left, R1 k, R2 A row, R3 lda in
// bytes, R4 B block, R5 ldb in bytes, R6 C row, R7 ldc in bytes; R9-R11 C
// rows 1-3 and R12-R15 A rows 0-3 of a four-row step, R19 B row, R20 p
// count. Every kernel needs m >= 1, k >= 1.

// func gemmNEONx16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
//
// C[i, 0:16] += sum_p A[i, p] * B[p, 0:16], four rows of C at a time, in
// order of p, each product rounded before it is added.
TEXT ·gemmNEONx16(SB), NOSPLIT, $0-64
	MOVD m+0(FP), R0
	MOVD k+8(FP), R1
	MOVD a+16(FP), R2
	MOVD lda+24(FP), R3
	LSL  $2, R3
	MOVD b+32(FP), R4
	MOVD ldb+40(FP), R5
	LSL  $2, R5
	MOVD c+48(FP), R6
	MOVD ldc+56(FP), R7
	LSL  $2, R7

x16rows4:
	CMP  $4, R0
	BLT  x16rows1
	ADD  R7, R6, R9
	ADD  R7, R9, R10
	ADD  R7, R10, R11
	VLD1 (R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1 (R9), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1 (R10), [V8.S4, V9.S4, V10.S4, V11.S4]
	VLD1 (R11), [V12.S4, V13.S4, V14.S4, V15.S4]
	MOVD R2, R12
	ADD  R3, R12, R13
	ADD  R3, R13, R14
	ADD  R3, R14, R15
	MOVD R4, R19
	MOVD R1, R20

x16loop4:
	VLD1.P  (R19)(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1R.P 4(R12), [V20.S4]
	VLD1R.P 4(R13), [V21.S4]
	VLD1R.P 4(R14), [V22.S4]
	VLD1R.P 4(R15), [V23.S4]
	ROW16(20, 24, 25, 26, 27, 0, 1, 2, 3)
	ROW16(21, 28, 29, 30, 31, 4, 5, 6, 7)
	ROW16(22, 24, 25, 26, 27, 8, 9, 10, 11)
	ROW16(23, 28, 29, 30, 31, 12, 13, 14, 15)
	SUBS    $1, R20
	BNE     x16loop4

	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R6)
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R9)
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R10)
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R11)
	ADD  R3<<2, R2
	ADD  R7<<2, R6
	SUB  $4, R0
	B    x16rows4

x16rows1:
	CBZ  R0, x16done
	VLD1 (R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	MOVD R2, R12
	MOVD R4, R19
	MOVD R1, R20

x16loop1:
	VLD1.P  (R19)(R5), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1R.P 4(R12), [V20.S4]
	ROW16(20, 24, 25, 26, 27, 0, 1, 2, 3)
	SUBS    $1, R20
	BNE     x16loop1
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R6)
	ADD  R3, R2
	ADD  R7, R6
	SUB  $1, R0
	B    x16rows1

x16done:
	RET

// func gemmNEONx8(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
//
// As gemmNEONx16 for a block of 8 columns.
TEXT ·gemmNEONx8(SB), NOSPLIT, $0-64
	MOVD m+0(FP), R0
	MOVD k+8(FP), R1
	MOVD a+16(FP), R2
	MOVD lda+24(FP), R3
	LSL  $2, R3
	MOVD b+32(FP), R4
	MOVD ldb+40(FP), R5
	LSL  $2, R5
	MOVD c+48(FP), R6
	MOVD ldc+56(FP), R7
	LSL  $2, R7

x8rows4:
	CMP  $4, R0
	BLT  x8rows1
	ADD  R7, R6, R9
	ADD  R7, R9, R10
	ADD  R7, R10, R11
	VLD1 (R6), [V0.S4, V1.S4]
	VLD1 (R9), [V2.S4, V3.S4]
	VLD1 (R10), [V4.S4, V5.S4]
	VLD1 (R11), [V6.S4, V7.S4]
	MOVD R2, R12
	ADD  R3, R12, R13
	ADD  R3, R13, R14
	ADD  R3, R14, R15
	MOVD R4, R19
	MOVD R1, R20

x8loop4:
	VLD1.P  (R19)(R5), [V16.S4, V17.S4]
	VLD1R.P 4(R12), [V20.S4]
	VLD1R.P 4(R13), [V21.S4]
	VLD1R.P 4(R14), [V22.S4]
	VLD1R.P 4(R15), [V23.S4]
	ROW8(20, 24, 25, 0, 1)
	ROW8(21, 26, 27, 2, 3)
	ROW8(22, 28, 29, 4, 5)
	ROW8(23, 30, 31, 6, 7)
	SUBS    $1, R20
	BNE     x8loop4

	VST1 [V0.S4, V1.S4], (R6)
	VST1 [V2.S4, V3.S4], (R9)
	VST1 [V4.S4, V5.S4], (R10)
	VST1 [V6.S4, V7.S4], (R11)
	ADD  R3<<2, R2
	ADD  R7<<2, R6
	SUB  $4, R0
	B    x8rows4

x8rows1:
	CBZ  R0, x8done
	VLD1 (R6), [V0.S4, V1.S4]
	MOVD R2, R12
	MOVD R4, R19
	MOVD R1, R20

x8loop1:
	VLD1.P  (R19)(R5), [V16.S4, V17.S4]
	VLD1R.P 4(R12), [V20.S4]
	ROW8(20, 24, 25, 0, 1)
	SUBS    $1, R20
	BNE     x8loop1
	VST1 [V0.S4, V1.S4], (R6)
	ADD  R3, R2
	ADD  R7, R6
	SUB  $1, R0
	B    x8rows1

x8done:
	RET

// func gemmNEONx4(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
//
// As gemmNEONx16 for a block of 4 columns.
TEXT ·gemmNEONx4(SB), NOSPLIT, $0-64
	MOVD m+0(FP), R0
	MOVD k+8(FP), R1
	MOVD a+16(FP), R2
	MOVD lda+24(FP), R3
	LSL  $2, R3
	MOVD b+32(FP), R4
	MOVD ldb+40(FP), R5
	LSL  $2, R5
	MOVD c+48(FP), R6
	MOVD ldc+56(FP), R7
	LSL  $2, R7

x4rows4:
	CMP  $4, R0
	BLT  x4rows1
	ADD  R7, R6, R9
	ADD  R7, R9, R10
	ADD  R7, R10, R11
	VLD1 (R6), [V0.S4]
	VLD1 (R9), [V1.S4]
	VLD1 (R10), [V2.S4]
	VLD1 (R11), [V3.S4]
	MOVD R2, R12
	ADD  R3, R12, R13
	ADD  R3, R13, R14
	ADD  R3, R14, R15
	MOVD R4, R19
	MOVD R1, R20

x4loop4:
	VLD1.P  (R19)(R5), [V16.S4]
	VLD1R.P 4(R12), [V20.S4]
	VLD1R.P 4(R13), [V21.S4]
	VLD1R.P 4(R14), [V22.S4]
	VLD1R.P 4(R15), [V23.S4]
	ROW4(20, 24, 0)
	ROW4(21, 25, 1)
	ROW4(22, 26, 2)
	ROW4(23, 27, 3)
	SUBS    $1, R20
	BNE     x4loop4

	VST1 [V0.S4], (R6)
	VST1 [V1.S4], (R9)
	VST1 [V2.S4], (R10)
	VST1 [V3.S4], (R11)
	ADD  R3<<2, R2
	ADD  R7<<2, R6
	SUB  $4, R0
	B    x4rows4

x4rows1:
	CBZ  R0, x4done
	VLD1 (R6), [V0.S4]
	MOVD R2, R12
	MOVD R4, R19
	MOVD R1, R20

x4loop1:
	VLD1.P  (R19)(R5), [V16.S4]
	VLD1R.P 4(R12), [V20.S4]
	ROW4(20, 24, 0)
	SUBS    $1, R20
	BNE     x4loop1
	VST1 [V0.S4], (R6)
	ADD  R3, R2
	ADD  R7, R6
	SUB  $1, R0
	B    x4rows1

x4done:
	RET

// func gemmNEONx2(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
//
// As gemmNEONx16 for a block of 2 columns, in 64-bit (.2S) vectors: it
// reads and writes only those two columns.
TEXT ·gemmNEONx2(SB), NOSPLIT, $0-64
	MOVD m+0(FP), R0
	MOVD k+8(FP), R1
	MOVD a+16(FP), R2
	MOVD lda+24(FP), R3
	LSL  $2, R3
	MOVD b+32(FP), R4
	MOVD ldb+40(FP), R5
	LSL  $2, R5
	MOVD c+48(FP), R6
	MOVD ldc+56(FP), R7
	LSL  $2, R7

x2rows4:
	CMP  $4, R0
	BLT  x2rows1
	ADD  R7, R6, R9
	ADD  R7, R9, R10
	ADD  R7, R10, R11
	VLD1 (R6), [V0.S2]
	VLD1 (R9), [V1.S2]
	VLD1 (R10), [V2.S2]
	VLD1 (R11), [V3.S2]
	MOVD R2, R12
	ADD  R3, R12, R13
	ADD  R3, R13, R14
	ADD  R3, R14, R15
	MOVD R4, R19
	MOVD R1, R20

x2loop4:
	VLD1.P  (R19)(R5), [V16.S2]
	VLD1R.P 4(R12), [V20.S2]
	VLD1R.P 4(R13), [V21.S2]
	VLD1R.P 4(R14), [V22.S2]
	VLD1R.P 4(R15), [V23.S2]
	ROW2(20, 24, 0)
	ROW2(21, 25, 1)
	ROW2(22, 26, 2)
	ROW2(23, 27, 3)
	SUBS    $1, R20
	BNE     x2loop4

	VST1 [V0.S2], (R6)
	VST1 [V1.S2], (R9)
	VST1 [V2.S2], (R10)
	VST1 [V3.S2], (R11)
	ADD  R3<<2, R2
	ADD  R7<<2, R6
	SUB  $4, R0
	B    x2rows4

x2rows1:
	CBZ  R0, x2done
	VLD1 (R6), [V0.S2]
	MOVD R2, R12
	MOVD R4, R19
	MOVD R1, R20

x2loop1:
	VLD1.P  (R19)(R5), [V16.S2]
	VLD1R.P 4(R12), [V20.S2]
	ROW2(20, 24, 0)
	SUBS    $1, R20
	BNE     x2loop1
	VST1 [V0.S2], (R6)
	ADD  R3, R2
	ADD  R7, R6
	SUB  $1, R0
	B    x2rows1

x2done:
	RET

// func gemmNEONx1(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
//
// As gemmNEONx16 for a single column, in scalar registers.
TEXT ·gemmNEONx1(SB), NOSPLIT, $0-64
	MOVD m+0(FP), R0
	MOVD k+8(FP), R1
	MOVD a+16(FP), R2
	MOVD lda+24(FP), R3
	LSL  $2, R3
	MOVD b+32(FP), R4
	MOVD ldb+40(FP), R5
	LSL  $2, R5
	MOVD c+48(FP), R6
	MOVD ldc+56(FP), R7
	LSL  $2, R7

x1rows4:
	CMP   $4, R0
	BLT   x1rows1
	ADD   R7, R6, R9
	ADD   R7, R9, R10
	ADD   R7, R10, R11
	FMOVS (R6), F0
	FMOVS (R9), F1
	FMOVS (R10), F2
	FMOVS (R11), F3
	MOVD  R2, R12
	ADD   R3, R12, R13
	ADD   R3, R13, R14
	ADD   R3, R14, R15
	MOVD  R4, R19
	MOVD  R1, R20

x1loop4:
	FMOVS   (R19), F16
	ADD     R5, R19
	FMOVS.P 4(R12), F20
	FMOVS.P 4(R13), F21
	FMOVS.P 4(R14), F22
	FMOVS.P 4(R15), F23
	FMULS   F20, F16, F24
	FMULS   F21, F16, F25
	FMULS   F22, F16, F26
	FMULS   F23, F16, F27
	FADDS   F24, F0
	FADDS   F25, F1
	FADDS   F26, F2
	FADDS   F27, F3
	SUBS    $1, R20
	BNE     x1loop4

	FMOVS F0, (R6)
	FMOVS F1, (R9)
	FMOVS F2, (R10)
	FMOVS F3, (R11)
	ADD   R3<<2, R2
	ADD   R7<<2, R6
	SUB   $4, R0
	B     x1rows4

x1rows1:
	CBZ   R0, x1done
	FMOVS (R6), F0
	MOVD  R2, R12
	MOVD  R4, R19
	MOVD  R1, R20

x1loop1:
	FMOVS   (R19), F16
	ADD     R5, R19
	FMOVS.P 4(R12), F20
	FMULS   F20, F16, F24
	FADDS   F24, F0
	SUBS    $1, R20
	BNE     x1loop1
	FMOVS F0, (R6)
	ADD   R3, R2
	ADD   R7, R6
	SUB   $1, R0
	B     x1rows1

x1done:
	RET

// func biasPReLUNEON(x *float32, pixels, c int, bias, alpha *float32)
//
// For each of pixels runs of c floats (pixels >= 1, c >= 1):
// t = x + bias; x = t > 0 ? t : t*alpha, per channel, four channels at a
// time (FCMGT against zero, then BIT selects t where the mask is set), the
// last c mod 4 in scalar registers (FCSELS GT, which is false for NaN as
// !(t > 0) in biasPReLUGeneric).
TEXT ·biasPReLUNEON(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD pixels+8(FP), R1
	MOVD c+16(FP), R2
	MOVD bias+24(FP), R3
	MOVD alpha+32(FP), R4
	LSR  $2, R2, R5 // blocks of four channels
	AND  $3, R2, R6 // channels left over

ppixel:
	MOVD R3, R7
	MOVD R4, R8
	CBZ  R5, ptail
	MOVD R5, R9

pblock:
	VLD1   (R0), [V0.S4]
	VLD1.P 16(R7), [V1.S4]
	VLD1.P 16(R8), [V2.S4]
	FADD4S(0, 0, 1)                // V0 = t = x + bias
	FMUL4S(3, 0, 2)                // V3 = t * alpha
	FCMGTZ4S(4, 0)                 // V4 = t > 0
	VBIT   V4.B16, V0.B16, V3.B16  // V3 = V4 ? V0 : V3
	VST1.P [V3.S4], 16(R0)
	SUBS   $1, R9
	BNE    pblock

ptail:
	CBZ  R6, pnext
	MOVD R6, R9

ptailloop:
	FMOVS   (R0), F0
	FMOVS.P 4(R7), F1
	FMOVS.P 4(R8), F2
	FADDS   F1, F0
	FMULS   F2, F0, F3
	FCMPS   $(0.0), F0
	FCSELS  GT, F0, F3, F0
	FMOVS.P F0, 4(R0)
	SUBS    $1, R9
	BNE     ptailloop

pnext:
	SUBS $1, R1
	BNE  ppixel
	RET

// func maxIntoNEON(dst, src *float32, n int)
//
// dst[i] = src[i] > dst[i] ? src[i] : dst[i] for i < n, exactly as
// maxIntoGeneric (not FMAX, which would turn max(-0, +0) into +0 where the
// generic version keeps dst): FCMGT then BIT, four at a time, the last
// n mod 4 in scalar registers.
TEXT ·maxIntoNEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	LSR  $2, R2, R3
	AND  $3, R2, R4
	CBZ  R3, mtail

mblock:
	VLD1   (R0), [V0.S4]
	VLD1.P 16(R1), [V1.S4]
	FCMGT4S(2, 1, 0)               // V2 = src > dst
	VBIT   V2.B16, V1.B16, V0.B16  // V0 = V2 ? V1 : V0
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R3
	BNE    mblock

mtail:
	CBZ R4, mdone

mtailloop:
	FMOVS   (R0), F0
	FMOVS.P 4(R1), F1
	FCMPS   F0, F1 // flags of src compared with dst
	FCSELS  GT, F1, F0, F0
	FMOVS.P F0, 4(R0)
	SUBS    $1, R4
	BNE     mtailloop

mdone:
	RET
