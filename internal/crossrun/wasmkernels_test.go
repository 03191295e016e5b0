package crossrun

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/mtcnn-go/mtcnn/internal/release"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// TestWasmKernels compiles package nets' tests for wasip1/wasm and runs
// its kernel and golden tests under wazero (-short: the GEMM's edge
// cases without its large blocks), in two builds: with the
// release's wasm toolchain and GOEXPERIMENT=simd, which select the SIMD128
// kernels (gemm_wasm.s: the GEMM against the generic specification at odd
// sizes, unaligned, with short edges, the V128Store offset, the pooling),
// and with the go command's own toolchain without the experiment (Go 1.26
// on a fresh machine), which builds the generic fallback. In both the nets'
// outputs must be the reference's bits (TestGoldenOutputs).
func TestWasmKernels(t *testing.T) {
	skipShort(t)
	shared := testenv.Shared(t)
	root := moduleRoot(t)
	for _, tc := range []struct {
		name                  string
		toolchain, experiment string // "" keeps the go command's own
		kernel                string // what TestConvGemmMatchesGeneric logs
		run                   string
	}{
		{"simd128", release.WASMToolchain, "simd", "kernel: wasm simd128",
			"^(TestConvGemmMatchesGeneric|TestConvGemmRespectsBounds|TestWasmV128StoreOffset|TestMaxWindowsKernel|TestConvPoolMatchesSeparate|TestSoftmax2|TestFMA64Emulated|TestGoldenOutputs)$"},
		{"generic", "", "", "kernel: generic",
			"^(TestConvGemmMatchesGeneric|TestConvGemmRespectsBounds|TestBiasPReLUKernel|TestMaxWindowsKernel|TestGoldenOutputs)$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			tg := release.Target{GOOS: "wasip1", GOARCH: "wasm", Toolchain: tc.toolchain, Experiment: tc.experiment}
			env := tg.Env(os.Environ())
			if tc.experiment == "" {
				env = append(env, "GOEXPERIMENT=")
			}
			out := runWasmTests(t, ctx, root, shared, env, "nets", tc.run)
			for _, want := range []string{tc.kernel, "--- PASS: TestConvGemmMatchesGeneric", "--- PASS: TestGoldenOutputs", "\nPASS"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if tc.name == "simd128" && !strings.Contains(out, "--- PASS: TestWasmV128StoreOffset") {
				t.Errorf("TestWasmV128StoreOffset did not pass:\n%s", out)
			}
			// Package cascade's pixel conversion (pixels_wasm.go in the
			// simd128 build) against its generic specification.
			if out := runWasmTests(t, ctx, root, shared, env, "cascade", "^TestRGBARowToBGR$"); !strings.Contains(out, "--- PASS: TestRGBARowToBGR") || !strings.Contains(out, "\nPASS") {
				t.Errorf("TestRGBARowToBGR did not pass:\n%s", out)
			}
		})
	}
}

// runWasmTests compiles package pkg's tests for wasip1/wasm with env and
// runs those matching run under wazero (-short), with the module root
// mounted at /mod, the tests in /mod/pkg, and the shared test data at
// /shared. It returns their output.
func runWasmTests(t *testing.T, ctx context.Context, root, shared string, env []string, pkg, run string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), pkg+".test.wasm")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./"+pkg)
	cmd.Dir, cmd.Env = root, env
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -c ./%s for wasip1/wasm: %v\n%s", pkg, err, out)
	}
	t.Logf("built the %s tests in %s", pkg, time.Since(start).Round(time.Millisecond))

	code, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	var stdout bytes.Buffer
	// The module root is mounted at /mod and the tests run in /mod/pkg,
	// where they find ../testdata.
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(pkg+".test", "-test.v", "-test.short", "-test.run", run).
		WithEnv("MTCNN_SHARED", "/shared").WithEnv("PWD", "/mod/"+pkg).
		WithStdout(&stdout).WithStderr(&stdout).
		WithSysWalltime().WithSysNanotime().
		WithFSConfig(wazero.NewFSConfig().WithReadOnlyDirMount(shared, "/shared").WithReadOnlyDirMount(root, "/mod"))
	start = time.Now()
	_, err = r.InstantiateWithConfig(ctx, code, cfg)
	var exit *sys.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 0) {
		t.Fatalf("the %s tests under wazero: %v\n%s", pkg, err, stdout.Bytes())
	}
	t.Logf("ran the %s tests under wazero in %s", pkg, time.Since(start).Round(time.Millisecond))
	return stdout.String()
}
