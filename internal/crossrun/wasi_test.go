package crossrun

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// runWASI runs the wasip1 module with args, the host folder dir mounted
// read-only at /images, and returns stdout, stderr and the exit code.
func runWASI(t *testing.T, ctx context.Context, r wazero.Runtime, mod wazero.CompiledModule, dir string, args ...string) (string, string, uint32) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{"mtcnn"}, args...)...).
		WithStdout(&stdout).WithStderr(&stderr).
		WithSysWalltime().WithSysNanotime().
		WithFSConfig(wazero.NewFSConfig().WithReadOnlyDirMount(dir, "/images"))
	m, err := r.InstantiateModule(ctx, mod, cfg)
	var code uint32
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running the module: %v\nstderr: %s", err, stderr.String())
	}
	if m != nil {
		m.Close(ctx)
	}
	return stdout.String(), stderr.String(), code
}

// TestWASIDetect runs the wasip1/wasm build of the CLI under wazero on
// the reference images and compares its JSON with the references.
func TestWASIDetect(t *testing.T) {
	skipShort(t)
	gs := goldens(t)
	wasm, err := os.ReadFile(build(t, target(t, "wasip1/wasm")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)

	start := time.Now()
	mod, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("compiling %d bytes of wasm: %v", len(wasm), err)
	}
	t.Logf("wazero compiled the %.1f MB module in %s", float64(len(wasm))/1e6, time.Since(start).Round(time.Millisecond))

	out, stderr, code := runWASI(t, ctx, r, mod, t.TempDir(), "version")
	if code != 0 || !strings.Contains(out, testVersion) || !strings.Contains(out, testCommit) || !strings.Contains(out, "wasip1/wasm") {
		t.Errorf("version: exit %d, stdout %q, stderr %q; want %s, %s and wasip1/wasm", code, out, stderr, testVersion, testCommit)
	}

	dir := filepath.Dir(gs[0].path)
	guest := func(g golden) string { return "/images/" + filepath.Base(g.path) }
	start = time.Now()
	out, stderr, code = runWASI(t, ctx, r, mod, dir, detectArgs(gs, guest)...)
	t.Logf("wasip1 detect on %d images: %s", len(gs), time.Since(start).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("detect: exit %d\nstderr: %s", code, stderr)
	}
	checkResults(t, "wasip1/wasm", []byte(out), gs, guest, false)

	// The mount is read-only and nothing else of the host is reachable.
	_, stderr, code = runWASI(t, ctx, r, mod, dir, "detect", "-json", gs[0].path)
	if code == 0 || !strings.Contains(stderr, gs[0].path) {
		t.Errorf("a host path outside the mount: exit %d, stderr %q; want a failure naming it", code, stderr)
	}
}
