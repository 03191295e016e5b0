// Command release builds the release artifacts into dist/: static,
// stripped mtcnn binaries (CGO_ENABLED=0, -trimpath, -ldflags "-s -w"
// with main.version and main.commit stamped; the model is embedded) for
// linux/amd64, linux/arm64, linux/arm v7 and v6, linux/riscv64,
// darwin/arm64, windows/amd64 and wasip1/wasm (the whole CLI,
// mtcnn-wasip1.wasm), the lean detect-only WASI module
// (wasip1/wasm/detect: cmd/mtcnn-wasi, mtcnn-wasi-detect.wasm), plus the
// browser build (js/wasm, a gzipped copy, Go's wasm_exec.js and
// mtcnn-wasm.js) in dist/web/wasm/, which "mtcnn serve -wasm-dir
// dist/web/wasm" serves. It prints a table of sizes and writes
// dist/SHA256SUMS.
//
// The WebAssembly targets build with Go 1.27.3 (GOTOOLCHAIN=go1.27.3, which
// the go command fetches when it is older) and GOEXPERIMENT=simd: that
// gives them package nets' SIMD128 kernels. The native targets build with
// the go command's own toolchain (Go 1.26 or later).
//
// Usage, from the module root:
//
//	go run ./cmd/release [-version V] [-commit C] [-o dist] [-targets all|T,...] [-n]
//
// The version defaults to `git describe --tags --always --dirty` and the
// commit to `git rev-parse HEAD`. Targets are named like linux/arm/v7 or
// js/wasm; -n prints the go build commands without running them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/mtcnn-go/mtcnn/internal/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "version to stamp (default: git describe --tags --always --dirty)")
	commit := fs.String("commit", "", "commit to stamp (default: git rev-parse HEAD)")
	out := fs.String("o", "dist", "output folder")
	targets := fs.String("targets", "all", "comma-separated targets, e.g. linux/amd64,linux/arm/v7,js/wasm")
	dryRun := fs.Bool("n", false, "print the build commands without running them")
	verbose := fs.Bool("v", false, "show progress and the go command's output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "release: unexpected arguments %q\n", fs.Args())
		return 2
	}
	sel, err := release.Select(strings.Split(*targets, ","))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 1
	}
	if *version == "" || *commit == "" {
		v, c, err := release.GitVersion(ctx, dir)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n(pass -version and -commit when not building from a git checkout)\n", err)
			return 1
		}
		if *version == "" {
			*version = v
		}
		if *commit == "" {
			*commit = c
		}
	}
	cfg := &release.Config{Dir: dir, Out: *out, Version: *version, Commit: *commit}
	if *verbose {
		cfg.Log = stderr
	}
	if *dryRun {
		for _, t := range sel {
			env := t.Env(nil)
			fmt.Fprintf(stdout, "%s go %s\n", strings.Join(env, " "), quoteArgs(cfg.BuildArgs(t, filepath.Join(*out, filepath.FromSlash(t.File)))))
		}
		return 0
	}
	fmt.Fprintf(stderr, "release %s (commit %s): building %d target(s) into %s\n", *version, *commit, len(sel), *out)
	arts, err := cfg.Run(ctx, sel)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := release.PrintTable(stdout, arts); err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 1
	}
	return 0
}

// quoteArgs joins args for a shell, quoting those with spaces.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t\"'") {
			a = "'" + a + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
