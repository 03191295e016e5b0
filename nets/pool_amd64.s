//go:build amd64 && !purego

#include "textflag.h"

// func maxWindowsAVX2(dst, src *float32, n, c, xstep int, offs *int, noffs int, mask *[8]int32)
//
// For each of n windows x: dst[x*c+ch] = the max over j of
// src[x*xstep + offs[j] + ch], taken in order of j as maxIntoGeneric does
// (a later value replaces the max only when greater), eight channels at a
// time; mask enables the lanes of the last ((c-1) mod 8 + 1) channels.
// n, c and noffs are at least 1; offs[0] is 0.
TEXT ·maxWindowsAVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), R8
	MOVQ c+24(FP), R9
	MOVQ xstep+32(FP), R12
	SHLQ $2, R12
	MOVQ offs+40(FP), R10
	MOVQ noffs+48(FP), R11
	MOVQ mask+56(FP), AX
	VMOVDQU (AX), Y15
	// DX = the full 8-lane blocks before the masked last one.
	LEAQ -1(R9), DX
	SHRQ $3, DX
	SHLQ $2, R9

wpix:
	XORQ CX, CX // channel byte offset
	MOVQ DX, BX
	TESTQ BX, BX
	JZ   wlast

wfull:
	VMOVUPS (SI)(CX*1), Y0
	LEAQ 8(R10), R14
	LEAQ -1(R11), R15
	TESTQ R15, R15
	JZ   wfstore

wfwin:
	MOVQ (R14), R13
	LEAQ (SI)(R13*4), R13
	VMOVUPS (R13)(CX*1), Y1
	VMAXPS Y0, Y1, Y0 // Y0 = Y1 > Y0 ? Y1 : Y0
	ADDQ $8, R14
	DECQ R15
	JNZ  wfwin

wfstore:
	VMOVUPS Y0, (DI)(CX*1)
	ADDQ $32, CX
	DECQ BX
	JNZ  wfull

wlast:
	LEAQ (SI)(CX*1), AX
	VMASKMOVPS (AX), Y15, Y0
	LEAQ 8(R10), R14
	LEAQ -1(R11), R15
	TESTQ R15, R15
	JZ   wlstore

wlwin:
	MOVQ (R14), R13
	LEAQ (AX)(R13*4), R13
	VMASKMOVPS (R13), Y15, Y1
	VMAXPS Y0, Y1, Y0
	ADDQ $8, R14
	DECQ R15
	JNZ  wlwin

wlstore:
	LEAQ (DI)(CX*1), R13
	VMASKMOVPS Y0, Y15, (R13)
	ADDQ R12, SI
	ADDQ R9, DI
	DECQ R8
	JNZ  wpix
	VZEROUPPER
	RET
