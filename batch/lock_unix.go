//go:build unix

package batch

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock without waiting; it is
// released when the file is closed (or the process dies).
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
