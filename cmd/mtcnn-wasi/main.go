// Command mtcnn-wasi is the lean WebAssembly build of the detector for
// WASI hosts (GOOS=wasip1): "mtcnn detect" and "mtcnn version" only, with
// the embedded model, and neither the HTTP server, nor ONNX, nor an HTTP
// client, so its module is smaller and starts sooner than the full CLI's
// (mtcnn-wasip1.wasm, which WAGI and other hosts that want every command
// use). The release builds it as mtcnn-wasi-detect.wasm with Go 1.27 and
// GOEXPERIMENT=simd (SIMD128 kernels):
//
//	wazero run -mount "$PWD:/images:ro" mtcnn-wasi-detect.wasm detect -json /images/solvay.png
//	node --no-concurrent-marking --wasm-tiering-budget=20000000 bench/wasm/wasi.mjs mtcnn-wasi-detect.wasm detect -json solvay.png
//
// "detect" takes the flags of "mtcnn detect" that need nothing beyond the
// detector (-min-size, -factor, -thresholds, -fma, -max-pixels, -json) and
// prints, one line per image, the JSON "mtcnn detect -json" prints, byte
// for byte (the table output, -o and -model are the full CLI's). The
// command line is otherwise the same, so hosts can swap one module for
// the other.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/cliflag"
	"github.com/mtcnn-go/mtcnn/internal/detopts"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/quality"
)

// version and commit are stamped at release build time with
// -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `mtcnn-wasi: MTCNN face detector, lean WASI build

Usage:
  mtcnn-wasi detect [flags] IMAGE...   detect faces, one JSON line per image
  mtcnn-wasi version                   print version information

Run 'mtcnn-wasi detect -h' for the flags.
`

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "detect":
		return runDetect(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "mtcnn-wasi %s (commit %s, %s, %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mtcnn-wasi: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// detectResult is one image's JSON line, as "mtcnn detect -json" writes it.
type detectResult struct {
	Image  string           `json:"image"`
	Width  int              `json:"width"`
	Height int              `json:"height"`
	Faces  []quality.Record `json:"faces"` // each face with its rotation (0), pose and quality
}

func runDetect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: mtcnn-wasi detect [flags] IMAGE...\n\nPrints one JSON line per image, as \"mtcnn detect -json\".\n\nFlags:\n")
		fs.PrintDefaults()
	}
	optFlags := cliflag.AddOptions(fs)
	fma := fs.Bool("fma", false, "use fused multiply-add where the CPU has it (no effect on wasm: its kernels are exact)")
	fs.Bool("json", true, "print JSON lines (always; accepted for the full CLI's command lines)")
	maxPixels := fs.Int64("max-pixels", imageio.DefaultMaxPixels, "refuse images with more pixels than this (checked before decoding)")
	paths, err := cliflag.Interspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "mtcnn-wasi detect: no images given")
		fs.Usage()
		return 2
	}
	opts, err := optFlags.Options()
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn-wasi detect: %v\n", err)
		return 2
	}
	opts.FMA = *fma
	det, err := cascade.NewDefault()
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn-wasi detect: %v\n", err)
		return 1
	}
	status := 0
	enc := json.NewEncoder(stdout)
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "mtcnn-wasi detect: %v\n", err)
			return 1
		}
		res, err := detectOne(ctx, det, path, opts, imageio.Limits{MaxPixels: *maxPixels})
		if err != nil {
			fmt.Fprintf(stderr, "mtcnn-wasi detect: %s\n", strings.Join(strings.Fields(err.Error()), " "))
			status = 1
			continue
		}
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "mtcnn-wasi detect: %v\n", err)
			return 1
		}
	}
	return status
}

func detectOne(ctx context.Context, det *cascade.Detector, path string, opts cascade.Options, lim imageio.Limits) (*detectResult, error) {
	img, _, err := imageio.DecodeFile(path, lim)
	if err != nil {
		return nil, err // names the file
	}
	b := img.Bounds()
	if err := detopts.CheckImage(b.Dx(), b.Dy(), opts, detopts.Flags); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	faces, err := det.Detect(ctx, img, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	recs := quality.Describe(img, faces, make([]float64, len(faces)))
	if recs == nil {
		recs = []quality.Record{}
	}
	return &detectResult{Image: path, Width: b.Dx(), Height: b.Dy(), Faces: recs}, nil
}
