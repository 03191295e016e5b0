package crossrun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestWASIDetectLean runs the lean detect-only WASI module
// (wasip1/wasm/detect, cmd/mtcnn-wasi) as the release builds it under
// wazero: its version, its JSON on the reference images (the reference's
// faces, the same lines the full CLI prints), and a clear error for a file
// that is not an image.
func TestWASIDetectLean(t *testing.T) {
	skipShort(t)
	gs := goldens(t)
	wasm, err := os.ReadFile(build(t, target(t, "wasip1/wasm/detect")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	mod, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("compiling %d bytes of wasm: %v", len(wasm), err)
	}
	t.Logf("lean module: %.1f MB", float64(len(wasm))/1e6)

	out, stderr, code := runWASI(t, ctx, r, mod, t.TempDir(), "version")
	if code != 0 || !strings.Contains(out, testVersion) || !strings.Contains(out, testCommit) {
		t.Errorf("version: exit %d, stdout %q, stderr %q; want %s and %s", code, out, stderr, testVersion, testCommit)
	}

	dir := filepath.Dir(gs[0].path)
	guest := func(g golden) string { return "/images/" + filepath.Base(g.path) }
	out, stderr, code = runWASI(t, ctx, r, mod, dir, detectArgs(gs, guest)...)
	if code != 0 {
		t.Fatalf("detect: exit %d\nstderr: %s", code, stderr)
	}
	checkResults(t, "wasip1/wasm/detect", []byte(out), gs, guest, false)

	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "notes.png"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runWASI(t, ctx, r, mod, bad, "detect", "-json", "/images/notes.png")
	if code == 0 || !strings.Contains(stderr, "notes.png") || strings.Contains(stderr, "panic") {
		t.Errorf("a file that is not an image: exit %d, stderr %q; want a failure naming it", code, stderr)
	}
}
