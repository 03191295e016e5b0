package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runRelease(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestDryRun checks the plan -n prints: one go build per target with the
// release's environment and flags.
func TestDryRun(t *testing.T) {
	out, stderr, code := runRelease("-n", "-version", "v1.0.0", "-commit", "abc123", "-o", "out")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d build lines, want 10:\n%s", len(lines), out)
	}
	for _, l := range lines {
		for _, want := range []string{"CGO_ENABLED=0 ", " go build -trimpath -tags nodynamic -ldflags '-s -w -X main.version=v1.0.0 -X main.commit=abc123' -o out/"} {
			if !strings.Contains(l, want) {
				t.Errorf("line %q lacks %q", l, want)
			}
		}
	}
	for _, want := range []string{
		"GOOS=linux GOARCH=arm GOARM=7 go build",
		"GOOS=linux GOARCH=arm GOARM=6 go build",
		"GOOS=linux GOARCH=riscv64 go build",
		"GOOS=darwin GOARCH=arm64 go build",
		"-o out/mtcnn-windows-amd64.exe ./cmd/mtcnn",
		"GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go build",
		"-o out/mtcnn-wasip1.wasm ./cmd/mtcnn\n",
		"-o out/mtcnn-wasi-detect.wasm ./cmd/mtcnn-wasi\n",
		"GOOS=js GOARCH=wasm GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go build -trimpath -tags nodynamic -ldflags '-s -w -X main.version=v1.0.0 -X main.commit=abc123' -o out/web/wasm/mtcnn.wasm ./cmd/mtcnn-wasm",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}

	out, _, code = runRelease("-n", "-version", "v1", "-commit", "c", "-targets", "linux/arm64,js/wasm")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "GOARCH=arm64") {
		t.Errorf("a subset: exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-targets", "plan9/386", "-n"},
		{"-n", "extra"},
		{"-nosuchflag"},
	} {
		_, stderr, code := runRelease(args...)
		if code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}
