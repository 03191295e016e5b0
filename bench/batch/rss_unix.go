//go:build unix

package main

import (
	"os"
	"syscall"
)

// peakRSS returns a finished process's peak resident set in MiB (Linux
// reports KiB), or 0 when unknown.
func peakRSS(st *os.ProcessState) float64 {
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
