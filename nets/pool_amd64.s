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

// func maxWindowsAVX512(dst, src *float32, n, c, xstep int, offs *int, noffs int, masks *[4]uint16)
//
// maxWindowsAVX2 for c <= 64: a window's channels stay in up to four
// vectors of 16 while its values are read, each offset loaded once per
// window; masks[v] enables the channels of vector v (none past c). The
// loop comes in three copies, for one, two and four vectors: the four-
// vector one alone would do the work of four for P-Net's 10 channels
// (masked-off lanes still cost their instructions).
TEXT ·maxWindowsAVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), R8
	MOVQ c+24(FP), R9
	SHLQ $2, R9
	MOVQ xstep+32(FP), R12
	SHLQ $2, R12
	MOVQ offs+40(FP), R10
	MOVQ noffs+48(FP), R11
	DECQ R11 // the offsets after the first, which is 0
	MOVQ masks+56(FP), AX
	KMOVW 0(AX), K1
	KMOVW 2(AX), K2
	KMOVW 4(AX), K3
	KMOVW 6(AX), K4
	CMPQ R9, $64
	JLE  x1pix
	CMPQ R9, $128
	JLE  x2pix

x4pix:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS.Z 128(SI), K3, Z2
	VMOVUPS.Z 192(SI), K4, Z3
	MOVQ R10, R14
	MOVQ R11, R15
	TESTQ R15, R15
	JZ   x4store

x4win:
	ADDQ $8, R14
	MOVQ (R14), R13
	LEAQ (SI)(R13*4), R13
	VMOVUPS.Z (R13), K1, Z4
	VMOVUPS.Z 64(R13), K2, Z5
	VMOVUPS.Z 128(R13), K3, Z6
	VMOVUPS.Z 192(R13), K4, Z7
	VMAXPS Z0, Z4, Z0 // Z0 = Z4 > Z0 ? Z4 : Z0
	VMAXPS Z1, Z5, Z1
	VMAXPS Z2, Z6, Z2
	VMAXPS Z3, Z7, Z3
	DECQ R15
	JNZ  x4win

x4store:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K2, 64(DI)
	VMOVUPS Z2, K3, 128(DI)
	VMOVUPS Z3, K4, 192(DI)
	ADDQ R12, SI
	ADDQ R9, DI
	DECQ R8
	JNZ  x4pix
	VZEROUPPER
	RET

x2pix:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	MOVQ R10, R14
	MOVQ R11, R15
	TESTQ R15, R15
	JZ   x2store

x2win:
	ADDQ $8, R14
	MOVQ (R14), R13
	LEAQ (SI)(R13*4), R13
	VMOVUPS.Z (R13), K1, Z4
	VMOVUPS.Z 64(R13), K2, Z5
	VMAXPS Z0, Z4, Z0
	VMAXPS Z1, Z5, Z1
	DECQ R15
	JNZ  x2win

x2store:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K2, 64(DI)
	ADDQ R12, SI
	ADDQ R9, DI
	DECQ R8
	JNZ  x2pix
	VZEROUPPER
	RET

x1pix:
	VMOVUPS.Z (SI), K1, Z0
	MOVQ R10, R14
	MOVQ R11, R15
	TESTQ R15, R15
	JZ   x1store

x1win:
	ADDQ $8, R14
	MOVQ (R14), R13
	VMOVUPS.Z (SI)(R13*4), K1, Z4
	VMAXPS Z0, Z4, Z0
	DECQ R15
	JNZ  x1win

x1store:
	VMOVUPS Z0, K1, (DI)
	ADDQ R12, SI
	ADDQ R9, DI
	DECQ R8
	JNZ  x1pix
	VZEROUPPER
	RET
