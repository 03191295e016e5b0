//go:build !wasm

package nets

import "math"

// fma64 is math.FMA, an instruction on the CPUs that have one.
func fma64(x, y, z float64) float64 { return math.FMA(x, y, z) }
