// Command wasm measures the WebAssembly builds against a baseline commit:
// it builds the wasip1 module of the baseline (bc61375 by default, before
// the SIMD128 kernels; extracted with git archive into a temporary folder)
// and of this checkout (the full CLI, mtcnn-wasip1.wasm, and the lean
// detect-only module, mtcnn-wasi-detect.wasm, both as the release builds
// them: Go 1.27.3, GOEXPERIMENT=simd), then runs "detect -json" of one
// image under Node's WASI (bench/wasm/wasi.mjs) and the wazero CLI (its
// compile cache on), the modules in turn, and prints the medians of wall
// and CPU time, their ratios to the baseline, the module sizes, and
// whether every run printed the baseline's bytes ("bytes"), or at least
// the baseline's values in every field the baseline prints ("baseline's
// fields": the full CLI now adds each face's rotation, pose and quality).
// Run from the module root:
//
//	go run ./bench/wasm                      # solvay.png at min size 20, 5 runs
//	go run ./bench/wasm -runs 9 -runtimes node
//	go run ./bench/wasm -runtimes node -node-flags --wasm-tiering-budget=20000000
//
// It needs git, node (>= 20) and wazero (go install
// github.com/tetratelabs/wazero/cmd/wazero@v1.12.0) on PATH, and the shared
// test images (MTCNN_SHARED, default ../shared). Runs alternate between
// the modules so that a busy machine slows each alike; the ratios are
// what to compare between machines.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mtcnn-go/mtcnn/internal/release"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench/wasm:", err)
		os.Exit(1)
	}
}

// nodeFlags are the V8 flags every Node run gets, the baseline's too.
// Without --no-concurrent-marking, Node 20's V8 (11.3) crashes in most
// runs of the current modules (SIGSEGV or "Fatal error ... unreachable
// code" in MarkCompactCollector, reached from Runtime_WasmMemoryGrow via
// Heap::ReportExternalMemoryPressure): its concurrent marker races with
// the wasm memory's growth. Marking on the main thread only avoids it and
// costs nothing measurable here.
var nodeFlags = []string{"--no-concurrent-marking"}

// module is one wasm build under test.
type module struct {
	name string
	path string
}

// runtimeSpec is one way to run a wasip1 module: argv before the module
// and after it, given the image's folder (mounted or reachable as guest).
type runtimeSpec struct {
	name string
	argv func(mod, imgDir string) (args []string, guestDir string)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "bc61375", "baseline commit")
	runs := fs.Int("runs", 5, "timed runs per module and runtime (after one warm-up)")
	image := fs.String("image", "solvay.png", "image under the shared testdata/images")
	minSize := fs.String("min-size", "20", "detect -min-size")
	runtimes := fs.String("runtimes", "node,wazero", "runtimes to use: node, wazero")
	keep := fs.Bool("keep", false, "keep the temporary folder with the modules")
	extra := fs.String("node-flags", "", "more V8 flags for every Node run, space-separated (e.g. --wasm-tiering-budget=20000000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "wasm", "wasi.mjs")); err != nil {
		return fmt.Errorf("run from the module root: %w", err)
	}
	shared := os.Getenv("MTCNN_SHARED")
	if shared == "" {
		shared = filepath.Join(root, "..", "shared")
	}
	imgPath, err := filepath.Abs(filepath.Join(shared, "testdata", "images", *image))
	if err != nil {
		return err
	}
	if _, err := os.Stat(imgPath); err != nil {
		return fmt.Errorf("the image (set MTCNN_SHARED): %w", err)
	}
	tmp, err := os.MkdirTemp("", "bench-wasm-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(stderr, "modules in", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	// The builds.
	fmt.Fprintf(stderr, "building %s (baseline) and this checkout\n", *base)
	baseDir := filepath.Join(tmp, "base")
	if err := extract(ctx, root, *base, baseDir); err != nil {
		return err
	}
	tgs, err := release.Select([]string{"wasip1/wasm", "wasip1/wasm/detect"})
	if err != nil {
		return err
	}
	mods := []module{
		{"base " + *base + " (full CLI)", filepath.Join(tmp, "base.wasm")},
		{"new: full CLI", filepath.Join(tmp, "full.wasm")},
		{"new: lean detect", filepath.Join(tmp, "lean.wasm")},
	}
	// The baseline's own release flags and toolchain, without the
	// experiment (it has no kernels that use it).
	baseTarget := tgs[0]
	baseTarget.Experiment = ""
	for i, b := range []struct {
		dir string
		tg  release.Target
	}{{baseDir, baseTarget}, {root, tgs[0]}, {root, tgs[1]}} {
		cfg := &release.Config{Dir: b.dir, Version: "bench", Commit: "bench", Log: io.Discard}
		start := time.Now()
		if err := cfg.BuildTo(ctx, b.tg, mods[i].path); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "  %s: %s\n", mods[i].name, time.Since(start).Round(time.Millisecond))
	}

	nodeFlags := append(slices.Clone(nodeFlags), strings.Fields(*extra)...)
	cache := filepath.Join(tmp, "wazero-cache")
	all := map[string]runtimeSpec{
		"node": {"node " + version("node", "--version") + " " + strings.Join(nodeFlags, " "), func(mod, imgDir string) ([]string, string) {
			a := append([]string{"node", "--no-warnings"}, nodeFlags...)
			return append(a, filepath.Join(root, "bench", "wasm", "wasi.mjs"), mod), imgDir
		}},
		"wazero": {"wazero " + version("wazero", "version") + " (compile cache)", func(mod, imgDir string) ([]string, string) {
			return []string{"wazero", "run", "-cachedir", cache, "-mount", imgDir + ":/images:ro", mod}, "/images"
		}},
	}
	var rts []runtimeSpec
	for _, n := range strings.Split(*runtimes, ",") {
		rt, ok := all[n]
		if !ok {
			return fmt.Errorf("unknown runtime %q (node, wazero)", n)
		}
		if _, err := exec.LookPath(n); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		rts = append(rts, rt)
	}

	type key struct{ rt, mod int }
	wall := map[key][]time.Duration{}
	cpu := map[key][]time.Duration{}
	outputs := map[key][][]byte{}
	crashes := 0
	once := func(r, m int) error {
		a, guest := rts[r].argv(mods[m].path, filepath.Dir(imgPath))
		a = append(a, "detect", "-json", "-min-size", *minSize, guest+"/"+filepath.Base(imgPath))
		for attempt := 0; ; attempt++ {
			var out, errb bytes.Buffer
			cmd := exec.CommandContext(ctx, a[0], a[1:]...)
			cmd.Stdout, cmd.Stderr = &out, &errb
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			if err != nil {
				// Should V8 still crash in its garbage collector while
				// the wasm memory grows (see nodeFlags), run again.
				if attempt < 2 && cmd.ProcessState != nil && !cmd.ProcessState.Exited() {
					crashes++
					continue
				}
				return fmt.Errorf("%s on %s: %w\n%s", mods[m].name, rts[r].name, err, errb.Bytes())
			}
			k := key{r, m}
			wall[k] = append(wall[k], d)
			cpu[k] = append(cpu[k], cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
			outputs[k] = append(outputs[k], out.Bytes())
			return nil
		}
	}
	fmt.Fprintf(stderr, "running detect -json -min-size %s %s: 1 warm-up + %d runs per module and runtime\n", *minSize, *image, *runs)
	for i := 0; i <= *runs; i++ {
		for r := range rts {
			for m := range mods {
				if err := once(r, m); err != nil {
					return err
				}
			}
		}
		if i == 0 { // the warm-up (wazero fills its compile cache)
			wall, cpu = map[key][]time.Duration{}, map[key][]time.Duration{}
		}
		fmt.Fprintf(stderr, "  round %d of %d done\n", i, *runs)
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(stdout, "detect -json -min-size %s %s; %d runs each, medians; CPU: %s, %d logical CPUs (load average at the end: %s)\n",
		*minSize, *image, *runs, cpuModel(), runtime.NumCPU(), loadAvg())
	fmt.Fprintln(tw, "runtime\tmodule\tMB\tMB gzip\twall s\tspeed-up\tCPU s\tspeed-up\tsame output\t")
	sameText := map[bool]string{true: "bytes", false: "baseline's fields"}
	for r, rt := range rts {
		bw, bc := median(wall[key{r, 0}]), median(cpu[key{r, 0}])
		ref := outputs[key{r, 0}][0]
		for m, mod := range mods {
			k := key{r, m}
			same, exact := true, true
			for _, o := range outputs[k] {
				e, f := compare(ref, o)
				exact, same = exact && e, same && f
			}
			raw, gz := sizes(mod.path)
			w, c := median(wall[k]), median(cpu[k])
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.2f\t%.2fx\t%.2f\t%.2fx\t%v\t\n", rt.name, mod.name, raw, gz,
				w.Seconds(), bw.Seconds()/w.Seconds(), c.Seconds(), bc.Seconds()/c.Seconds(), map[bool]string{true: sameText[exact], false: "DIFFERENT"}[same])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if crashes > 0 {
		fmt.Fprintf(stdout, "%d run(s) crashed in the runtime and were repeated\n", crashes)
	}
	for r := range rts {
		for m := range mods {
			for _, o := range outputs[key{r, m}] {
				if _, same := compare(outputs[key{r, 0}][0], o); !same {
					return errors.New("an output differs from the baseline's")
				}
			}
		}
	}
	return nil
}

// compare reports whether out is ref byte for byte (exact), and whether
// it has the same values as ref in every field ref has (same): the full
// CLI of a later commit may add fields to each face (its rotation, pose
// and quality), which the baseline's output lacks. Values compare as the
// JSON text of each number.
func compare(ref, out []byte) (exact, same bool) {
	if bytes.Equal(ref, out) {
		return true, true
	}
	decode := func(b []byte) ([]any, error) {
		var vs []any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		for {
			var v any
			if err := d.Decode(&v); err == io.EOF {
				return vs, nil
			} else if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
	}
	rv, err1 := decode(ref)
	ov, err2 := decode(out)
	if err1 != nil || err2 != nil || len(rv) != len(ov) {
		return false, false
	}
	return false, reflect.DeepEqual(rv, project(ov, rv))
}

// project returns the part of v that has ref's shape: objects keep only
// ref's keys, arrays are projected element by element.
func project(v, ref any) any {
	switch r := ref.(type) {
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(r))
		for k, rk := range r {
			if x, ok := m[k]; ok {
				out[k] = project(x, rk)
			}
		}
		return out
	case []any:
		a, ok := v.([]any)
		if !ok || len(a) != len(r) {
			return v
		}
		out := make([]any, len(a))
		for i := range a {
			out[i] = project(a[i], r[i])
		}
		return out
	}
	return v
}

// extract writes the tree of commit into dir with git archive.
func extract(ctx context.Context, repo, commit, dir string) error {
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	cmd.Dir = repo
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git archive %s: %w: %s", commit, err, errb.Bytes())
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("git archive: bad path %q", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return err
			}
		}
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// sizes returns a file's size and its gzip -9 size in MB.
func sizes(path string) (raw, gz float64) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return float64(len(data)) / 1e6, float64(b.Len()) / 1e6
}

// version returns the first line a command prints, or "?".
func version(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
