package nets

// fma64 is math.FMA computed with float64 operations (fma64Emulated):
// wasm has no fused multiply-add, and math.FMA's integer emulation cost
// more than the exponentials' other work together.
func fma64(x, y, z float64) float64 { return fma64Emulated(x, y, z) }
