//go:build amd64 && !purego

#include "textflag.h"

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
