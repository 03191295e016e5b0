//go:build amd64 && !purego

#include "textflag.h"

// func biasPReLUAVX2(x *float32, pixels, c int, bias, alpha *float32, mask *[8]int32)
//
// For each of pixels runs of c floats: t = x + bias; x = t > 0 ? t : t*alpha,
// per channel, eight channels at a time; mask enables the lanes of the last
// (c mod 8, or 8) channels of each run.
TEXT ·biasPReLUAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), DI
	MOVQ pixels+8(FP), R8
	MOVQ c+16(FP), R9
	MOVQ bias+24(FP), SI
	MOVQ alpha+32(FP), DX
	MOVQ mask+40(FP), AX
	VMOVDQU (AX), Y15
	VXORPS Y14, Y14, Y14
	// R10 = number of full 8-lane blocks before the masked last block.
	LEAQ -1(R9), R10
	SHRQ $3, R10
	TESTQ R8, R8
	JZ   pdone

ppixel:
	XORQ BX, BX // channel byte offset
	MOVQ R10, CX
	TESTQ CX, CX
	JZ   plast

pblock:
	VMOVUPS (DI)(BX*1), Y0
	VADDPS (SI)(BX*1), Y0, Y0
	VMULPS (DX)(BX*1), Y0, Y1
	VCMPPS $0x1E, Y14, Y0, Y2 // Y2 = Y0 > 0 (ordered, quiet)
	VBLENDVPS Y2, Y0, Y1, Y0  // Y0 = Y2 ? Y0 : Y1
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ $32, BX
	DECQ CX
	JNZ  pblock

plast:
	LEAQ (DI)(BX*1), R11
	LEAQ (SI)(BX*1), R12
	LEAQ (DX)(BX*1), R13
	VMASKMOVPS (R11), Y15, Y0
	VMASKMOVPS (R12), Y15, Y3
	VMASKMOVPS (R13), Y15, Y4
	VADDPS Y3, Y0, Y0
	VMULPS Y4, Y0, Y1
	VCMPPS $0x1E, Y14, Y0, Y2
	VBLENDVPS Y2, Y0, Y1, Y0
	VMASKMOVPS Y0, Y15, (R11)
	LEAQ (DI)(R9*4), DI
	DECQ R8
	JNZ  ppixel

pdone:
	VZEROUPPER
	RET

// func maxIntoAVX2(dst, src *float32, n int, mask *[8]int32)
//
// dst[i] = max(dst[i], src[i]) for i < n, n >= 1; mask enables the lanes of
// the last ((n-1) mod 8 + 1) elements.
TEXT ·maxIntoAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ mask+24(FP), AX
	VMOVDQU (AX), Y15
	DECQ CX
	SHRQ $3, CX
	JZ   mlast

mblock:
	VMOVUPS (SI), Y0
	VMAXPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  mblock

mlast:
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (DI), Y15, Y1
	VMAXPS Y1, Y0, Y0
	VMASKMOVPS Y0, Y15, (DI)
	VZEROUPPER
	RET
