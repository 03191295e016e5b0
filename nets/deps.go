package nets

// gorgonia v0.9.18 and tensor v0.9.24 build against versions of these two
// modules that are too old for today's toolchains: an older
// assume-no-moving-gc panics at start on current Go releases, and math32
// before v1.11.1 does not build for riscv64. Importing them here makes them
// direct requirements, so go.mod pins the working versions explicitly.
import (
	_ "github.com/chewxy/math32"
	_ "go4.org/unsafe/assume-no-moving-gc"
)
