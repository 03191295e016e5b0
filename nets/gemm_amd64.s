#include "textflag.h"

// func gemmAVX2x16(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
//
// C[i, 0:16] += sum_p A[i, p] * B[p, 0:16], four rows of C at a time, each
// product rounded before it is added (VMULPS then VADDPS), in order of p.
TEXT ·gemmAVX2x16(SB), NOSPLIT, $0-64
	MOVQ m+0(FP), R8
	MOVQ k+8(FP), R9
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R10
	SHLQ $2, R10
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R11
	SHLQ $2, R11
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R12
	SHLQ $2, R12

x16rows4:
	CMPQ R8, $4
	JLT  x16rows1
	LEAQ (DX)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	LEAQ (R14)(R12*1), R15
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS (R13), Y2
	VMOVUPS 32(R13), Y3
	VMOVUPS (R14), Y4
	VMOVUPS 32(R14), Y5
	VMOVUPS (R15), Y6
	VMOVUPS 32(R15), Y7
	MOVQ SI, AX
	LEAQ (SI)(R10*1), BX
	MOVQ DI, R14
	MOVQ R9, R13

x16loop4:
	VMOVUPS (R14), Y8
	VMOVUPS 32(R14), Y9
	VBROADCASTSS (AX), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y0, Y0
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y1, Y1
	VBROADCASTSS (BX), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y2, Y2
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y3, Y3
	VBROADCASTSS (AX)(R10*2), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y4, Y4
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y5, Y5
	VBROADCASTSS (BX)(R10*2), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y6, Y6
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y7, Y7
	ADDQ $4, AX
	ADDQ $4, BX
	ADDQ R11, R14
	DECQ R13
	JNZ  x16loop4

	LEAQ (DX)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	LEAQ (R14)(R12*1), R15
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (R13)
	VMOVUPS Y3, 32(R13)
	VMOVUPS Y4, (R14)
	VMOVUPS Y5, 32(R14)
	VMOVUPS Y6, (R15)
	VMOVUPS Y7, 32(R15)
	LEAQ (SI)(R10*4), SI
	LEAQ (DX)(R12*4), DX
	SUBQ $4, R8
	JMP  x16rows4

x16rows1:
	TESTQ R8, R8
	JZ    x16done
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	MOVQ SI, AX
	MOVQ DI, R14
	MOVQ R9, R13

x16loop1:
	VMOVUPS (R14), Y8
	VMOVUPS 32(R14), Y9
	VBROADCASTSS (AX), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y0, Y0
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y1, Y1
	ADDQ $4, AX
	ADDQ R11, R14
	DECQ R13
	JNZ  x16loop1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ R10, SI
	ADDQ R12, DX
	DECQ R8
	JMP  x16rows1

x16done:
	VZEROUPPER
	RET

// func gemmAVX2x8(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, mask *[8]int32)
//
// As gemmAVX2x16 for one block of up to 8 columns; masked loads and stores
// touch only the lanes that mask enables.
TEXT ·gemmAVX2x8(SB), NOSPLIT, $0-72
	MOVQ m+0(FP), R8
	MOVQ k+8(FP), R9
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R10
	SHLQ $2, R10
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R11
	SHLQ $2, R11
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R12
	SHLQ $2, R12
	MOVQ mask+64(FP), AX
	VMOVDQU (AX), Y15

x8rows4:
	CMPQ R8, $4
	JLT  x8rows1
	LEAQ (DX)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	LEAQ (R14)(R12*1), R15
	VMASKMOVPS (DX), Y15, Y0
	VMASKMOVPS (R13), Y15, Y2
	VMASKMOVPS (R14), Y15, Y4
	VMASKMOVPS (R15), Y15, Y6
	MOVQ SI, AX
	LEAQ (SI)(R10*1), BX
	MOVQ DI, R14
	MOVQ R9, R13

x8loop4:
	VMASKMOVPS (R14), Y15, Y8
	VBROADCASTSS (AX), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y0, Y0
	VBROADCASTSS (BX), Y10
	VMULPS Y8, Y10, Y12
	VADDPS Y12, Y2, Y2
	VBROADCASTSS (AX)(R10*2), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y4, Y4
	VBROADCASTSS (BX)(R10*2), Y10
	VMULPS Y8, Y10, Y12
	VADDPS Y12, Y6, Y6
	ADDQ $4, AX
	ADDQ $4, BX
	ADDQ R11, R14
	DECQ R13
	JNZ  x8loop4

	LEAQ (DX)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	LEAQ (R14)(R12*1), R15
	VMASKMOVPS Y0, Y15, (DX)
	VMASKMOVPS Y2, Y15, (R13)
	VMASKMOVPS Y4, Y15, (R14)
	VMASKMOVPS Y6, Y15, (R15)
	LEAQ (SI)(R10*4), SI
	LEAQ (DX)(R12*4), DX
	SUBQ $4, R8
	JMP  x8rows4

x8rows1:
	TESTQ R8, R8
	JZ    x8done
	VMASKMOVPS (DX), Y15, Y0
	MOVQ SI, AX
	MOVQ DI, R14
	MOVQ R9, R13

x8loop1:
	VMASKMOVPS (R14), Y15, Y8
	VBROADCASTSS (AX), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y0, Y0
	ADDQ $4, AX
	ADDQ R11, R14
	DECQ R13
	JNZ  x8loop1
	VMASKMOVPS Y0, Y15, (DX)
	ADDQ R10, SI
	ADDQ R12, DX
	DECQ R8
	JMP  x8rows1

x8done:
	VZEROUPPER
	RET

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
