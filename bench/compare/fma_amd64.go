package main

import (
	"time"

	"golang.org/x/sys/cpu"
)

// fmaAVX512 runs n iterations of 12 VFMADD231PS on Z registers (384 FLOP).
func fmaAVX512(n int)

// fmaAVX2 runs n iterations of 12 VFMADD231PS on Y registers (192 FLOP).
func fmaAVX2(n int)

// fmaLoop runs the widest FMA loop the CPU has.
func fmaLoop(n int) {
	switch {
	case cpu.X86.HasAVX512F:
		fmaAVX512(n)
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		fmaAVX2(n)
	}
}

// fmaFlopsPerIter is the floating-point operations of one fmaLoop
// iteration: 12 FMAs of 16 or 8 lanes, 2 operations each.
func fmaFlopsPerIter() int {
	switch {
	case cpu.X86.HasAVX512F:
		return 12 * 16 * 2
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return 12 * 8 * 2
	}
	return 0
}

// fmaKind names the loop and returns the iterations that take about 0.2 s.
func fmaKind() (string, int) {
	name := "AVX-512 VFMADD231PS zmm, 12 chains"
	switch {
	case cpu.X86.HasAVX512F:
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		name = "AVX2 VFMADD231PS ymm, 12 chains"
	default:
		return "no FMA unit (unmeasured)", 0
	}
	const probe = 1 << 20
	fmaLoop(probe)
	t0 := time.Now()
	fmaLoop(probe)
	d := time.Since(t0)
	return name, max(probe, int(float64(probe)*0.2/d.Seconds()))
}
