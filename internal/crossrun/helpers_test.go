package crossrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/reference"
	"github.com/mtcnn-go/mtcnn/internal/release"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// The stamps the test builds carry, checked through "mtcnn version".
const (
	testVersion = "v0.0.0-crossrun"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

// testImages are the reference images the emulated binaries run on: a
// colour photo with two faces and a small grey one.
var testImages = []string{"ivan.png", "hopper_gray.png"}

// moduleRoot returns the folder holding go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside a module")
	}
	return filepath.Dir(gomod)
}

// builds caches the binaries built in this test process, one per target.
var builds sync.Map // target string -> *buildResult

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// build builds target t with the release's flags into a folder that lives
// as long as the test binary, once per process.
func build(t *testing.T, tg release.Target) string {
	t.Helper()
	v, _ := builds.LoadOrStore(tg.String(), &buildResult{})
	br := v.(*buildResult)
	br.once.Do(func() {
		dir, err := os.MkdirTemp("", "crossrun-")
		if err != nil {
			br.err = err
			return
		}
		cfg := &release.Config{Dir: moduleRoot(t), Version: testVersion, Commit: testCommit}
		br.path = filepath.Join(dir, filepath.Base(tg.File))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		br.err = cfg.BuildTo(ctx, tg, br.path)
		t.Logf("built %s in %s", tg, time.Since(start).Round(time.Millisecond))
	})
	if br.err != nil {
		t.Fatal(br.err)
	}
	return br.path
}

// cleanupBuilds removes the build folders; TestMain calls it.
func cleanupBuilds() {
	builds.Range(func(_, v any) bool {
		if br := v.(*buildResult); br.path != "" {
			os.RemoveAll(filepath.Dir(br.path))
		}
		return true
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupBuilds()
	os.Exit(code)
}

// target returns the release target named name.
func target(t *testing.T, name string) release.Target {
	t.Helper()
	ts, err := release.Select([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	return ts[0]
}

// skipShort skips the test in -short mode: it builds and emulates.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("cross-platform build and run; skipped in -short mode")
	}
}

// requireTool skips the test (fails it under CI=true) with msg.
func requireTool(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (required under CI=true)", msg)
	}
	t.Skip(msg)
}

// result is one line of "mtcnn detect -json".
type result struct {
	Image  string         `json:"image"`
	Width  int            `json:"width"`
	Height int            `json:"height"`
	Faces  []cascade.Face `json:"faces"`
}

// parseLines parses "mtcnn detect -json" output.
func parseLines(t *testing.T, out []byte) []result {
	t.Helper()
	var res []result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		res = append(res, r)
	}
	return res
}

// golden is one reference image with its expected output.
type golden struct {
	name string
	ref  *reference.File
	path string // the image file
}

// goldens loads the reference outputs of testImages at min size 20.
func goldens(t *testing.T) []golden {
	t.Helper()
	shared := testenv.Shared(t)
	var gs []golden
	for _, img := range testImages {
		name := strings.TrimSuffix(img, filepath.Ext(img))
		ref, err := reference.Load(filepath.Join(shared, "testdata", "reference", "min20", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, golden{name: name, ref: ref, path: filepath.Join(shared, "testdata", "images", img)})
	}
	return gs
}

// detectArgs returns the detect command line for the goldens, with image
// paths made by imgPath.
func detectArgs(gs []golden, imgPath func(golden) string) []string {
	p := gs[0].ref.Params
	args := []string{"detect", "-json",
		"-min-size", fmt.Sprint(p.MinSize), "-factor", fmt.Sprint(p.Factor),
		"-thresholds", fmt.Sprintf("%v,%v,%v", p.Thresholds[0], p.Thresholds[1], p.Thresholds[2])}
	for _, g := range gs {
		args = append(args, imgPath(g))
	}
	return args
}

// hostFaces detects on the goldens in-process, with this platform's
// kernels (fused multiply-add ones with fma), for the cross-platform
// comparison.
func hostFaces(t *testing.T, gs []golden, fma bool) [][]cascade.Face {
	t.Helper()
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]cascade.Face, len(gs))
	for i, g := range gs {
		img, _, err := imageio.DecodeFile(g.path, imageio.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		opts := g.ref.Options()
		opts.FMA = fma
		if out[i], err = det.Detect(context.Background(), img, opts); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkResults compares detect -json output with the references and with
// the host's detections, and logs the largest differences. With fma, the
// output is of "detect -fma" and the host detects with FMA too.
func checkResults(t *testing.T, label string, out []byte, gs []golden, wantImage func(golden) string, fma bool) {
	t.Helper()
	res := parseLines(t, out)
	if len(res) != len(gs) {
		t.Fatalf("%s: got %d JSON lines, want %d:\n%s", label, len(res), len(gs), out)
	}
	host := hostFaces(t, gs, fma)
	for i, g := range gs {
		r := res[i]
		if r.Image != wantImage(g) || r.Width != g.ref.Width || r.Height != g.ref.Height {
			t.Errorf("%s %s: header %q %dx%d, want %q %dx%d", label, g.name, r.Image, r.Width, r.Height, wantImage(g), g.ref.Width, g.ref.Height)
		}
		dr := reference.Compare(r.Faces, g.ref.Faces())
		for _, e := range dr.Errors {
			t.Errorf("%s %s vs reference: %s", label, g.name, e)
		}
		dh := reference.Compare(r.Faces, host[i])
		for _, e := range dh.Errors {
			t.Errorf("%s %s vs host: %s", label, g.name, e)
		}
		// Every kernel and every cascade step rounds as float32 does with
		// no fused operations (or, with fma, with the fused ones of the
		// same specification), so every platform gives the host's bits.
		if dh.MaxPixel != 0 || dh.MaxScore != 0 {
			t.Errorf("%s %s differs from the host: %.3g px, %.3g score (want bit-identical)", label, g.name, dh.MaxPixel, dh.MaxScore)
		}
		t.Logf("%s %s: %d faces; max diff vs reference %.3g px, %.3g score; vs host %.3g px, %.3g score",
			label, g.name, len(r.Faces), dr.MaxPixel, dr.MaxScore, dh.MaxPixel, dh.MaxScore)
	}
}

// runtimePlatform is the platform the tests run on, as os/arch.
func runtimePlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }
