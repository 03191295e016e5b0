package crossrun

import (
	"bytes"
	"context"
	"debug/elf"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/nets"
)

// emulated lists the targets run under qemu user emulation, with the
// qemu binaries that can run them (Debian's qemu-user-static names first,
// then qemu-user's) and the ELF machine the binary must be for.
var emulated = []struct {
	target  string
	qemu    []string
	machine elf.Machine
	platfrm string // as "mtcnn version" prints it
	fma     bool   // has FMA kernels: -fma is checked against the host's FMA too
}{
	{"linux/arm64", []string{"qemu-aarch64-static", "qemu-aarch64"}, elf.EM_AARCH64, "linux/arm64", true},
	{"linux/arm/v7", []string{"qemu-arm-static", "qemu-arm"}, elf.EM_ARM, "linux/arm", false},
	{"linux/riscv64", []string{"qemu-riscv64-static", "qemu-riscv64"}, elf.EM_RISCV, "linux/riscv64", false},
}

// TestEmulated builds the linux/arm64, linux/arm (GOARM=7) and
// linux/riscv64 release binaries, checks that they are static executables
// for their machine, and runs them under qemu on the reference images.
func TestEmulated(t *testing.T) {
	skipShort(t)
	gs := goldens(t)
	for _, e := range emulated {
		t.Run(strings.ReplaceAll(e.target, "/", "_"), func(t *testing.T) {
			var qemu string
			for _, q := range e.qemu {
				if p, err := exec.LookPath(q); err == nil {
					qemu = p
					break
				}
			}
			if qemu == "" {
				requireTool(t, "no "+strings.Join(e.qemu, " or ")+" on PATH: apt-get install qemu-user-static")
			}
			bin := build(t, target(t, e.target))
			checkStaticELF(t, bin, e.machine)

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			run := func(args ...string) (string, time.Duration) {
				t.Helper()
				cmd := exec.CommandContext(ctx, qemu, append([]string{bin}, args...)...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				start := time.Now()
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s %s %s: %v\nstderr: %s", qemu, bin, strings.Join(args, " "), err, stderr.String())
				}
				return stdout.String(), time.Since(start)
			}

			out, _ := run("version")
			for _, want := range []string{testVersion, testCommit, e.platfrm} {
				if !strings.Contains(out, want) {
					t.Errorf("version printed %q, want it to contain %q", out, want)
				}
			}
			hostPath := func(g golden) string { return g.path }
			out, took := run(detectArgs(gs, hostPath)...)
			t.Logf("%s under %s: detect on %d images in %s", e.target, qemu, len(gs), took.Round(time.Millisecond))
			checkResults(t, e.target, []byte(out), gs, hostPath, false)
			if e.fma && nets.FMAAvailable() {
				out, took = run(append([]string{"detect", "-fma"}, detectArgs(gs, hostPath)[1:]...)...)
				t.Logf("%s -fma: detect on %d images in %s", e.target, len(gs), took.Round(time.Millisecond))
				checkResults(t, e.target+" -fma", []byte(out), gs, hostPath, true)
			}
		})
	}
}

// checkStaticELF checks that path is an ELF executable for machine with
// no program interpreter, i.e. statically linked.
func checkStaticELF(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s: ELF machine %v type %v, want %v ET_EXEC", path, f.Machine, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has a %v program header; want a static executable", path, p.Type)
		}
	}
}
