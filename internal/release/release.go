// Package release builds the project's release artifacts: static, stripped
// mtcnn binaries for every supported platform (model embedded), the WASI
// build of the CLI and a lean detect-only WASI module, the browser
// (js/wasm) build with its JavaScript glue, and a SHA256SUMS file. The
// WebAssembly targets build with WASMToolchain and GOEXPERIMENT=simd, which
// give them the SIMD128 kernels of package nets; the others with the go
// command's own toolchain. cmd/release is its command line; the cross-target
// tests build through Build so that they test exactly what is shipped.
package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mtcnn-go/mtcnn/internal/wasmweb"
)

// Module is the import path of the module the release is built from.
const Module = "github.com/mtcnn-go/mtcnn"

// The packages a release builds.
const (
	CLIPackage  = "./cmd/mtcnn"
	WASMPackage = "./cmd/mtcnn-wasm"
	WASIPackage = "./cmd/mtcnn-wasi"
)

// WASMToolchain is the Go toolchain the WebAssembly targets build with
// (through GOTOOLCHAIN, which fetches it when the go command is older):
// Go 1.27's assembler is the first to encode SIMD128, and with
// GOEXPERIMENT=simd package nets uses its wasm kernels (about 3x the
// generic ones). Older toolchains build the generic kernels.
const WASMToolchain = "go1.27.3"

// SizeBudget is the size, in bytes, the linux/amd64 binary should stay
// under (20 MB). Run reports when it does not.
const SizeBudget = 20_000_000

// Target is one platform to build for.
type Target struct {
	GOOS, GOARCH string
	// GOARM is the ARM architecture version ("6" or "7") for GOARCH=arm.
	GOARM string
	// Package is the main package to build, relative to the module root.
	Package string
	// File is the output path relative to the output folder.
	File string
	// Variant tells apart targets of one platform ("detect" for the lean
	// WASI module); String appends it.
	Variant string
	// Toolchain and Experiment, when set, are the GOTOOLCHAIN and
	// GOEXPERIMENT of the build (WASMToolchain and "simd" for wasm).
	Toolchain, Experiment string
}

// String returns the target as os/arch, with /vN appended for GOARM.
func (t Target) String() string {
	s := t.GOOS + "/" + t.GOARCH
	if t.GOARM != "" {
		s += "/v" + t.GOARM
	}
	if t.Variant != "" {
		s += "/" + t.Variant
	}
	return s
}

// Env returns the environment for building t: base without any GOOS,
// GOARCH, GOARM or CGO_ENABLED setting (nor GOTOOLCHAIN and GOEXPERIMENT
// when t sets them), plus t's own and CGO_ENABLED=0.
func (t Target) Env(base []string) []string {
	env := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "GOARM", "CGO_ENABLED":
			return true
		case "GOTOOLCHAIN":
			return t.Toolchain != ""
		case "GOEXPERIMENT":
			return t.Experiment != ""
		}
		return false
	})
	env = append(env, "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
	if t.GOARM != "" {
		env = append(env, "GOARM="+t.GOARM)
	}
	if t.Toolchain != "" {
		env = append(env, "GOTOOLCHAIN="+t.Toolchain)
	}
	if t.Experiment != "" {
		env = append(env, "GOEXPERIMENT="+t.Experiment)
	}
	return env
}

// Targets returns every release target, in build order.
func Targets() []Target {
	cli := func(goos, goarch, goarm, file string) Target {
		return Target{GOOS: goos, GOARCH: goarch, GOARM: goarm, Package: CLIPackage, File: file}
	}
	wasm := func(t Target) Target {
		t.GOARCH, t.Toolchain, t.Experiment = "wasm", WASMToolchain, "simd"
		return t
	}
	return []Target{
		cli("linux", "amd64", "", "mtcnn-linux-amd64"),
		cli("linux", "arm64", "", "mtcnn-linux-arm64"),
		cli("linux", "arm", "7", "mtcnn-linux-armv7"),
		cli("linux", "arm", "6", "mtcnn-linux-armv6"),
		cli("linux", "riscv64", "", "mtcnn-linux-riscv64"),
		cli("darwin", "arm64", "", "mtcnn-darwin-arm64"),
		cli("windows", "amd64", "", "mtcnn-windows-amd64.exe"),
		wasm(cli("wasip1", "wasm", "", "mtcnn-wasip1.wasm")),
		wasm(Target{GOOS: "wasip1", Variant: "detect", Package: WASIPackage, File: "mtcnn-wasi-detect.wasm"}),
		wasm(Target{GOOS: "js", Package: WASMPackage, File: "web/wasm/" + wasmweb.WASMFile}),
	}
}

// Select returns the targets whose String or File is in names (names may
// also be "all"), in build order, or an error naming an unknown one.
func Select(names []string) ([]Target, error) {
	all := Targets()
	if len(names) == 0 || slices.Contains(names, "all") {
		return all, nil
	}
	var out []Target
	for _, n := range names {
		i := slices.IndexFunc(all, func(t Target) bool { return n == t.String() || n == t.File })
		if i < 0 {
			known := make([]string, len(all))
			for k, t := range all {
				known[k] = t.String()
			}
			return nil, fmt.Errorf("release: unknown target %q (known: %s)", n, strings.Join(known, ", "))
		}
		if !slices.Contains(out, all[i]) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// LDFlags returns the linker flags of a release build: stripped (-s -w)
// and stamped with version and commit.
func LDFlags(version, commit string) string {
	return fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", version, commit)
}

// validStamp reports whether s can be passed through -ldflags -X unquoted.
func validStamp(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '\'' || r == '\\' || r > '~'
	})
}

// Config describes one release build.
type Config struct {
	// Dir is the module root to build in.
	Dir string
	// Out is the output folder; files in it are replaced.
	Out string
	// Version and Commit are stamped into main.version and main.commit.
	Version, Commit string
	// Go is the go command; empty means "go".
	Go string
	// Env is the base environment; nil means os.Environ().
	Env []string
	// Log receives the builds' output and progress; nil discards it.
	Log io.Writer
}

func (c *Config) goCmd() string {
	if c.Go == "" {
		return "go"
	}
	return c.Go
}

func (c *Config) env() []string {
	if c.Env == nil {
		return os.Environ()
	}
	return c.Env
}

func (c *Config) log() io.Writer {
	if c.Log == nil {
		return io.Discard
	}
	return c.Log
}

// BuildTags are the build tags of every release build. nodynamic keeps
// the HEIC/AVIF decoders (github.com/gen2brain/heic, .../avif) on their
// WebAssembly path only: without it they link github.com/ebitengine/purego
// to dlopen a system libheif/libavif, which makes even a CGO_ENABLED=0
// Linux binary dynamically linked (it then needs ld.so and libc, so it
// does not run on a static or empty container base).
const BuildTags = "nodynamic"

// BuildArgs returns the go command's arguments for building t into out.
func (c *Config) BuildArgs(t Target, out string) []string {
	return []string{"build", "-trimpath", "-tags", BuildTags, "-ldflags", LDFlags(c.Version, c.Commit), "-o", out, t.Package}
}

// Build builds t into the file out (an absolute path, or relative to
// c.Dir).
func (c *Config) Build(ctx context.Context, t Target) error {
	return c.BuildTo(ctx, t, filepath.Join(c.Out, filepath.FromSlash(t.File)))
}

// BuildTo builds t into the file out.
func (c *Config) BuildTo(ctx context.Context, t Target, out string) error {
	if !validStamp(c.Version) || !validStamp(c.Commit) {
		return fmt.Errorf("release: version %q and commit %q must be non-empty printable ASCII without spaces or quotes", c.Version, c.Commit)
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(c.Dir, out)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	cmd := exec.CommandContext(ctx, c.goCmd(), c.BuildArgs(t, out)...)
	cmd.Dir = c.Dir
	cmd.Env = t.Env(c.env())
	var stderr bytes.Buffer
	cmd.Stdout = c.log()
	cmd.Stderr = io.MultiWriter(c.log(), &stderr)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("release: building %s: %w\n%s", t, err, stderr.Bytes())
	}
	return nil
}

// Artifact is one file of a release with its size and SHA-256 digest.
type Artifact struct {
	// Target is the platform, or "" for a support file.
	Target string
	// File is the path relative to the output folder, slash-separated.
	File   string
	Size   int64
	SHA256 string
}

// Run builds every target into c.Out, adds the browser build's support
// files (a gzipped copy, Go's wasm_exec.js and the mtcnn-wasm.js glue)
// next to the browser wasm, and writes SHA256SUMS. It returns the artifacts in build order.
func (c *Config) Run(ctx context.Context, targets []Target) ([]Artifact, error) {
	if c.Out == "" {
		return nil, errors.New("release: no output folder")
	}
	var arts []Artifact
	for _, t := range targets {
		start := time.Now()
		fmt.Fprintf(c.log(), "building %s -> %s\n", t, t.File)
		if err := c.Build(ctx, t); err != nil {
			return nil, err
		}
		a, err := c.artifact(t.String(), t.File)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(c.log(), "built %s in %s\n", t, time.Since(start).Round(time.Millisecond))
		arts = append(arts, a)
		if t.GOOS == "js" {
			support, err := c.writeWebSupport(ctx, t)
			if err != nil {
				return nil, err
			}
			arts = append(arts, support...)
		}
	}
	if err := WriteSums(filepath.Join(c.abs(c.Out), "SHA256SUMS"), arts); err != nil {
		return nil, err
	}
	return arts, nil
}

func (c *Config) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// writeWebSupport writes the gzipped wasm, wasm_exec.js (from the Go
// installation that builds the wasm, as the two must match) and the glue
// next to the browser build t.
func (c *Config) writeWebSupport(ctx context.Context, t Target) ([]Artifact, error) {
	dir := filepath.Dir(filepath.FromSlash(t.File))
	execJS, err := WasmExecJS(ctx, c.goCmd(), t.Env(c.env()))
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(c.abs(filepath.Join(c.Out, dir, wasmweb.WASMFile)))
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if err := wasmweb.WriteGzip(c.abs(filepath.Join(c.Out, dir, wasmweb.GzipFile)), wasm); err != nil {
		return nil, err
	}
	gz, err := c.artifact("", filepath.ToSlash(filepath.Join(dir, wasmweb.GzipFile)))
	if err != nil {
		return nil, err
	}
	arts := []Artifact{gz}
	for _, f := range []struct {
		name string
		data []byte
	}{{wasmweb.ExecFile, execJS}, {wasmweb.GlueFile, wasmweb.Glue()}} {
		rel := filepath.Join(dir, f.name)
		if err := os.WriteFile(c.abs(filepath.Join(c.Out, rel)), f.data, 0o644); err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
		a, err := c.artifact("", filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		arts = append(arts, a)
	}
	return arts, nil
}

// WasmExecJS returns the wasm_exec.js of the Go installation goCmd runs
// with env (pass the js/wasm target's Env, which selects its toolchain),
// the JavaScript support that a js/wasm binary built by it needs.
func WasmExecJS(ctx context.Context, goCmd string, env []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOROOT")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("release: go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(out))
	// Go 1.24 moved it from misc/wasm to lib/wasm.
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("release: %w", err)
		}
	}
	return nil, fmt.Errorf("release: no wasm_exec.js in GOROOT %s: %w", root, os.ErrNotExist)
}

func (c *Config) artifact(target, rel string) (Artifact, error) {
	data, err := os.ReadFile(c.abs(filepath.Join(c.Out, filepath.FromSlash(rel))))
	if err != nil {
		return Artifact{}, fmt.Errorf("release: %w", err)
	}
	sum := sha256.Sum256(data)
	return Artifact{Target: target, File: rel, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// WriteSums writes arts to path in the format of sha256sum (and
// "sha256sum -c"): digest, two spaces, file name.
func WriteSums(path string, arts []Artifact) error {
	var b strings.Builder
	for _, a := range arts {
		fmt.Fprintf(&b, "%s  %s\n", a.SHA256, a.File)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// PrintTable writes a table of the artifacts and their sizes to w, and a
// warning when the linux/amd64 binary is over SizeBudget.
func PrintTable(w io.Writer, arts []Artifact) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tFILE\tBYTES\tMB\t")
	for _, a := range arts {
		t := a.Target
		if t == "" {
			t = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t\n", t, a.File, a.Size, float64(a.Size)/1e6)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range arts {
		if a.Target == "linux/amd64" && a.Size > SizeBudget {
			_, err := fmt.Fprintf(w, "warning: %s is %.2f MB, over the %d MB budget; see `go tool nm -size -sort size` on an unstripped build\n",
				a.File, float64(a.Size)/1e6, SizeBudget/1_000_000)
			return err
		}
	}
	return nil
}

// GitVersion describes the checkout at dir: `git describe --tags --always
// --dirty` and the full commit hash.
func GitVersion(ctx context.Context, dir string) (version, commit string, err error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return "", fmt.Errorf("release: git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(ee.Stderr))
			}
			return "", fmt.Errorf("release: git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if version, err = git("describe", "--tags", "--always", "--dirty"); err != nil {
		return "", "", err
	}
	if commit, err = git("rev-parse", "HEAD"); err != nil {
		return "", "", err
	}
	return version, commit, nil
}
