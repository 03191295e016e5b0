//go:build wasm && goexperiment.simd && go1.27 && !purego

#include "textflag.h"

// func v128StoreOffsetProbe(p *float32)
//
// Copies the four floats at p to p+16 bytes with "V128Store $16", the
// one-operand store with a memory offset that Go 1.27's assembler encodes
// without it; TestWasmV128StoreOffset watches for the bug's fix.
TEXT ·v128StoreOffsetProbe(SB), NOSPLIT, $0-8
	MOVD p+0(FP), R0
	Get R0
	I32WrapI64
	Get R0
	I32WrapI64
	V128Load $0
	V128Store $16
	RET
