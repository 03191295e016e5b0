package release

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/internal/wasmweb"
)

func TestTargets(t *testing.T) {
	want := []string{
		"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/riscv64",
		"darwin/arm64", "windows/amd64", "wasip1/wasm", "wasip1/wasm/detect", "js/wasm",
	}
	var got []string
	files := map[string]bool{}
	for _, tg := range Targets() {
		got = append(got, tg.String())
		if files[tg.File] {
			t.Errorf("two targets write %s", tg.File)
		}
		files[tg.File] = true
		wantPkg := CLIPackage
		switch {
		case tg.GOOS == "js":
			wantPkg = WASMPackage
		case tg.Variant == "detect":
			wantPkg = WASIPackage
		}
		if wasm := tg.GOARCH == "wasm"; wasm != (tg.Toolchain == WASMToolchain) || wasm != (tg.Experiment == "simd") {
			t.Errorf("%s: toolchain %q, GOEXPERIMENT %q; want %s and simd exactly for wasm", tg, tg.Toolchain, tg.Experiment, WASMToolchain)
		}
		if tg.Package != wantPkg {
			t.Errorf("%s builds %s, want %s", tg, tg.Package, wantPkg)
		}
		if (tg.GOARCH == "arm") != (tg.GOARM != "") {
			t.Errorf("%s: GOARM %q", tg, tg.GOARM)
		}
		if (tg.GOOS == "windows") != strings.HasSuffix(tg.File, ".exe") {
			t.Errorf("%s: file %s", tg, tg.File)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("targets %v, want %v", got, want)
	}
	if js := Targets()[len(Targets())-1]; js.File != "web/wasm/"+wasmweb.WASMFile {
		t.Errorf("the browser build goes to %s, want web/wasm/%s", js.File, wasmweb.WASMFile)
	}
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  []string
	}{
		{nil, nil},
		{[]string{"all"}, nil},
		{[]string{"linux/arm/v7", "js/wasm"}, []string{"linux/arm/v7", "js/wasm"}},
		{[]string{"mtcnn-windows-amd64.exe", "linux/amd64", "linux/amd64"}, []string{"windows/amd64", "linux/amd64"}},
	} {
		ts, err := Select(tc.names)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range ts {
			got = append(got, tg.String())
		}
		want := tc.want
		if want == nil {
			want = make([]string, 0, len(Targets()))
			for _, tg := range Targets() {
				want = append(want, tg.String())
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("Select(%q) = %v, want %v", tc.names, got, want)
		}
	}
	if _, err := Select([]string{"linux/arm"}); err == nil || !strings.Contains(err.Error(), "linux/arm/v7") {
		t.Errorf("Select of an unknown target: %v, want an error listing the known ones", err)
	}
}

func TestEnv(t *testing.T) {
	base := []string{"PATH=/bin", "GOOS=plan9", "GOARCH=386", "GOARM=5", "CGO_ENABLED=1", "GOFLAGS=-mod=mod"}
	arm := Target{GOOS: "linux", GOARCH: "arm", GOARM: "7"}
	got := arm.Env(base)
	want := []string{"PATH=/bin", "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7"}
	if !slices.Equal(got, want) {
		t.Errorf("Env = %q, want %q", got, want)
	}
	if base[1] != "GOOS=plan9" {
		t.Error("Env modified its argument")
	}
	wasi := Target{GOOS: "wasip1", GOARCH: "wasm", Toolchain: "go1.27.3", Experiment: "simd"}
	got = wasi.Env(append(base, "GOTOOLCHAIN=local", "GOEXPERIMENT=nosimd"))
	want = []string{"PATH=/bin", "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOOS=wasip1", "GOARCH=wasm", "GOTOOLCHAIN=go1.27.3", "GOEXPERIMENT=simd"}
	if !slices.Equal(got, want) {
		t.Errorf("wasm Env = %q, want %q", got, want)
	}
	amd := Target{GOOS: "linux", GOARCH: "amd64"}
	if env := amd.Env(base); slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, "GOARM=") }) {
		t.Errorf("amd64 env has GOARM: %q", env)
	}
}

func TestBuildArgs(t *testing.T) {
	c := &Config{Version: "v1.2.3-4-gabcdef-dirty", Commit: "abcdef0123"}
	tg := Targets()[0]
	got := c.BuildArgs(tg, "dist/x")
	want := []string{"build", "-trimpath", "-tags", "nodynamic", "-ldflags", "-s -w -X main.version=v1.2.3-4-gabcdef-dirty -X main.commit=abcdef0123", "-o", "dist/x", "./cmd/mtcnn"}
	if !slices.Equal(got, want) {
		t.Errorf("BuildArgs = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "v1 2", `v1"`, "v1\n", "vé"} {
		c := &Config{Version: bad, Commit: "abc", Dir: t.TempDir()}
		if err := c.BuildTo(context.Background(), tg, "x"); err == nil || !strings.Contains(err.Error(), "printable") {
			t.Errorf("version %q: %v, want a refusal", bad, err)
		}
	}
}

func TestPrintTable(t *testing.T) {
	arts := []Artifact{
		{Target: "linux/amd64", File: "mtcnn-linux-amd64", Size: SizeBudget + 1},
		{File: "web/wasm/wasm_exec.js", Size: 17000},
	}
	var b bytes.Buffer
	if err := PrintTable(&b, arts); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"TARGET", "mtcnn-linux-amd64", "20000001", "20.00", "web/wasm/wasm_exec.js", "warning: mtcnn-linux-amd64"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	arts[0].Size = SizeBudget
	if err := PrintTable(&b, arts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "warning") {
		t.Errorf("a warning at the budget:\n%s", b.String())
	}
}

func TestGitVersion(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	ctx := context.Background()
	if _, _, err := GitVersion(ctx, dir); err == nil {
		t.Error("GitVersion outside a repository succeeded")
	}
	git("init", "-q")
	os.WriteFile(filepath.Join(dir, "f"), []byte("1"), 0o644)
	git("add", "f")
	git("commit", "-q", "-m", "one")
	git("tag", "v1.2.3")
	v, c, err := GitVersion(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if v != "v1.2.3" || len(c) != 40 {
		t.Errorf("GitVersion = %q, %q; want v1.2.3 and a full hash", v, c)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("2"), 0o644)
	if v, _, _ = GitVersion(ctx, dir); v != "v1.2.3-dirty" {
		t.Errorf("dirty tree: version %q, want v1.2.3-dirty", v)
	}
}

// TestRun builds the host's binary and the browser build for real and
// checks the outputs, SHA256SUMS and the stamped version. It reuses the
// build cache, so it is quick after the first run; -short skips it.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries; skipped in -short mode")
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	targets, err := Select([]string{host, "js/wasm"})
	if err != nil {
		t.Skipf("no release target for %s: %v", host, err)
	}
	out := t.TempDir()
	var log bytes.Buffer
	c := &Config{Dir: filepath.Join("..", ".."), Out: out, Version: "v9.8.7-test", Commit: "feedface", Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	arts, err := c.Run(ctx, targets)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var files []string
	for _, a := range arts {
		files = append(files, a.File)
	}
	wantFiles := []string{targets[0].File, "web/wasm/mtcnn.wasm", "web/wasm/mtcnn.wasm.gz", "web/wasm/wasm_exec.js", "web/wasm/mtcnn-wasm.js"}
	if !slices.Equal(files, wantFiles) {
		t.Errorf("artifacts %v, want %v", files, wantFiles)
	}

	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	n := 0
	for sc.Scan() {
		digest, file, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad SHA256SUMS line %q", sc.Text())
		}
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != digest {
			t.Errorf("SHA256SUMS: wrong digest for %s", file)
		}
		n++
	}
	if n != len(arts) {
		t.Errorf("SHA256SUMS has %d lines, want %d", n, len(arts))
	}
	if glue, _ := os.ReadFile(filepath.Join(out, "web", "wasm", wasmweb.GlueFile)); !bytes.Equal(glue, wasmweb.Glue()) {
		t.Error("the glue written differs from the embedded one")
	}
	if arts[2].Size*2 > arts[1].Size {
		t.Errorf("the gzipped wasm is %d bytes for %d; want under half", arts[2].Size, arts[1].Size)
	}
	if js, _ := os.ReadFile(filepath.Join(out, "web", "wasm", wasmweb.ExecFile)); !bytes.Contains(js, []byte("globalThis.Go")) {
		t.Error("wasm_exec.js does not define Go")
	}

	bin := filepath.Join(out, filepath.FromSlash(targets[0].File))
	vout, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s version: %v\n%s", bin, err, vout)
		}
		t.Skipf("cannot run %s here: %v", bin, err)
	}
	if !strings.Contains(string(vout), "mtcnn v9.8.7-test (commit feedface,") {
		t.Errorf("version printed %q, want the stamps", vout)
	}
}
