//go:build amd64 && !purego

#include "textflag.h"

// The constants of expFMA (exp.go), which are those of math.Exp on amd64
// (src/math/exp_amd64.s): the same method, step for step.
#define LOG2E 1.4426950408889634073599246810018920
#define LN2U 0.69314718055966295651160180568695068359375
#define LN2L 0.28235290563031577122588448175013436025525412068e-12

DATA expconst<>+0(SB)/8, $LOG2E
DATA expconst<>+8(SB)/8, $LN2U
DATA expconst<>+16(SB)/8, $LN2L
DATA expconst<>+24(SB)/8, $0.0625
DATA expconst<>+32(SB)/8, $2.4801587301587301587e-5
DATA expconst<>+40(SB)/8, $1.9841269841269841270e-4
DATA expconst<>+48(SB)/8, $1.3888888888888888889e-3
DATA expconst<>+56(SB)/8, $8.3333333333333333333e-3
DATA expconst<>+64(SB)/8, $4.1666666666666666667e-2
DATA expconst<>+72(SB)/8, $1.6666666666666666667e-1
DATA expconst<>+80(SB)/8, $0.5
DATA expconst<>+88(SB)/8, $1.0
DATA expconst<>+96(SB)/8, $2.0
DATA expconst<>+104(SB)/8, $-110.0
DATA expconst<>+112(SB)/8, $1023
GLOBL expconst<>(SB), RODATA, $120

// func expNegAVX512(dst, src *float32, n int)
//
// dst[i] = float32(expFMA(float64(src[i]))) for n values src[i] <= 0 or
// NaN, eight at a time (n a multiple of 8): the same operations on the same
// constants in the same order, each rounded to float64 as there. Arguments
// below -110, whose exponential rounds to 0 in float32, give 0 directly,
// so the scaling by 2**k never needs the subnormal path.
TEXT ·expNegAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   done
	VBROADCASTSD expconst<>+0(SB), Z20  // LOG2E
	VBROADCASTSD expconst<>+8(SB), Z21  // LN2U
	VBROADCASTSD expconst<>+16(SB), Z22 // LN2L
	VBROADCASTSD expconst<>+24(SB), Z23 // 1/16
	VBROADCASTSD expconst<>+88(SB), Z24 // 1
	VBROADCASTSD expconst<>+96(SB), Z25 // 2
	VBROADCASTSD expconst<>+104(SB), Z26 // -110
	VPBROADCASTQ expconst<>+112(SB), Z27 // the exponent bias

loop:
	VCVTPS2PD (SI), Z0 // x
	// k = round(x*log2(e)) as CVTSD2SL rounds (to nearest, even), then
	// x -= k*ln2 in two fused steps.
	VMULPD Z20, Z0, Z1
	VCVTPD2DQ Z1, Y2
	VCVTDQ2PD Y2, Z1
	VFNMADD231PD Z21, Z1, Z0
	VFNMADD231PD Z22, Z1, Z0
	VMULPD Z23, Z0, Z0
	// The Taylor series in Horner form, then four doublings of the
	// reduced argument's exponential minus one.
	VBROADCASTSD expconst<>+32(SB), Z3
	VFMADD213PD.BCST expconst<>+40(SB), Z0, Z3
	VFMADD213PD.BCST expconst<>+48(SB), Z0, Z3
	VFMADD213PD.BCST expconst<>+56(SB), Z0, Z3
	VFMADD213PD.BCST expconst<>+64(SB), Z0, Z3
	VFMADD213PD.BCST expconst<>+72(SB), Z0, Z3
	VFMADD213PD.BCST expconst<>+80(SB), Z0, Z3
	VFMADD213PD Z24, Z0, Z3
	VMULPD Z3, Z0, Z0
	VADDPD Z25, Z0, Z3
	VMULPD Z3, Z0, Z0
	VADDPD Z25, Z0, Z3
	VMULPD Z3, Z0, Z0
	VADDPD Z25, Z0, Z3
	VMULPD Z3, Z0, Z0
	VADDPD Z25, Z0, Z3
	VFMADD213PD Z24, Z3, Z0
	// Times 2**k: (k + 1023) << 52 is 2**k as a float64 for the k of
	// arguments from -110 on.
	VPMOVSXDQ Y2, Z4
	VPADDQ Z27, Z4, Z4
	VPSLLQ $52, Z4, Z4
	VMULPD Z4, Z0, Z0
	// Arguments below -110 (and -Inf) give 0; NaN stays NaN.
	VCVTPS2PD (SI), Z5
	VCMPPD $1, Z26, Z5, K1 // x < -110, ordered
	VXORPD Z6, Z6, Z6
	VMOVAPD Z6, K1, Z0
	VCVTPD2PS Z0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  loop
	VZEROUPPER

done:
	RET
