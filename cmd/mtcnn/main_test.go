package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/reference"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// runCLI runs the command line in-process and returns stdout, stderr and the
// exit code.
func runCLI(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// decodeLines parses -json output, one object per line.
func decodeLines(t *testing.T, s string) []detectResult {
	t.Helper()
	var res []detectResult
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r detectResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		res = append(res, r)
	}
	return res
}

// TestDetectGolden checks "mtcnn detect -json" on every reference PNG.
func TestDetectGolden(t *testing.T) {
	shared := testenv.Shared(t)
	for _, path := range reference.Glob(shared) {
		ref, err := reference.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(path)) + "/" + ref.Image
		t.Run(name, func(t *testing.T) {
			img := filepath.Join(shared, "testdata", "images", ref.Image)
			stdout, stderr, code := runCLI("detect", "-json",
				"-min-size", fmt.Sprint(ref.Params.MinSize), "-factor", fmt.Sprint(ref.Params.Factor),
				"-thresholds", fmt.Sprintf("%v,%v,%v", ref.Params.Thresholds[0], ref.Params.Thresholds[1], ref.Params.Thresholds[2]),
				img)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			res := decodeLines(t, stdout)
			if len(res) != 1 {
				t.Fatalf("got %d JSON lines, want 1", len(res))
			}
			if res[0].Image != img || res[0].Width != ref.Width || res[0].Height != ref.Height {
				t.Errorf("header %q %dx%d, want %q %dx%d", res[0].Image, res[0].Width, res[0].Height, img, ref.Width, ref.Height)
			}
			for _, e := range reference.Compare(res[0].Faces, ref.Faces()).Errors {
				t.Error(e)
			}
		})
	}
}

// TestDetectFMA checks the -fma flag: on solvay (29 faces) the fused
// arithmetic stays within the golden tolerances of the reference and, where
// FMA kernels exist, really changes the low bits.
func TestDetectFMA(t *testing.T) {
	shared := testenv.Shared(t)
	path := filepath.Join(shared, "testdata", "reference", "min20", "solvay.json")
	ref, err := reference.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(shared, "testdata", "images", ref.Image)
	var runs [2][]cascade.Face
	for i, args := range [][]string{{"detect", "-json", img}, {"detect", "-json", "-fma", img}} {
		stdout, stderr, code := runCLI(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		res := decodeLines(t, stdout)
		if len(res) != 1 {
			t.Fatalf("%v: got %d JSON lines, want 1", args, len(res))
		}
		runs[i] = res[0].Faces
		for _, e := range reference.Compare(res[0].Faces, ref.Faces()).Errors {
			t.Errorf("%v: %s", args, e)
		}
	}
	if nets.FMAAvailable() && reflect.DeepEqual(runs[0], runs[1]) {
		t.Error("-fma gave exactly the exact run's faces: the flag did not reach the kernels")
	}
}

// TestDetectJPEGMatchesPNG checks that the JPEG originals, decoded by the
// CLI's own path, give the faces of their PNG copies (the PNGs hold exactly
// the pixels Go decodes from the JPEGs; hopper_exif6 differs by its EXIF
// rotation and is left out).
func TestDetectJPEGMatchesPNG(t *testing.T) {
	shared := testenv.Shared(t)
	dir := filepath.Join(shared, "testdata", "images")
	for _, name := range []string{"ivan", "multiface", "solvay", "hopper_gray", "backlit", "test_image"} {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := runCLI("detect", "-json", filepath.Join(dir, name+".png"), filepath.Join(dir, name+".jpg"))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			res := decodeLines(t, out)
			if len(res) != 2 {
				t.Fatalf("got %d results", len(res))
			}
			d := reference.Compare(res[1].Faces, res[0].Faces)
			if len(d.Errors) > 0 || d.MaxPixel != 0 || d.MaxScore != 0 {
				t.Errorf("JPEG and PNG differ: %v", d)
			}
		})
	}
}

// TestDetectBadFiles checks that unreadable images get a one-line error
// naming the file and exit status 1, while the good images are processed.
func TestDetectBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writeTestPNG(t, good, 64, 48)
	notImage := filepath.Join(dir, "notes.jpg")
	os.WriteFile(notImage, []byte("these are not pixels"), 0o644)
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 200, 200)))
	truncated := filepath.Join(dir, "truncated.png")
	os.WriteFile(truncated, buf.Bytes()[:buf.Len()/2], 0o644)
	big := filepath.Join(dir, "big.png")
	writeTestPNG(t, big, 300, 200)
	missing := filepath.Join(dir, "missing.png")

	out, stderr, code := runCLI("detect", "-json", "-max-pixels", "50000", notImage, good, truncated, big, missing, good)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if res := decodeLines(t, out); len(res) != 2 || res[0].Image != good || res[0].Width != 64 {
		t.Errorf("good images not processed: %q", out)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 error lines, got %q", stderr)
	}
	for i, f := range []string{notImage, truncated, big, missing} {
		if !strings.Contains(lines[i], f) {
			t.Errorf("error line %q does not name %s", lines[i], f)
		}
	}
	if !strings.Contains(lines[2], "too large") {
		t.Errorf("pixel-limit error %q does not say so", lines[2])
	}
}

func writeTestPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.NRGBA{1, 2, 3, 255})
	if err := writePNG(path, img); err != nil {
		t.Fatal(err)
	}
}

func TestDetectFlags(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "x.png")
	writeTestPNG(t, img, 20, 20)
	big := filepath.Join(dir, "big.png")
	writeTestPNG(t, big, 800, 600)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"detect"}, 2, "no images"},
		{[]string{"detect", "-min-size", "0.5", img}, 2, "-min-size 0.5 is out of range: it must be a number of pixels of at least 1"},
		{[]string{"detect", "-min-size", "0", img}, 2, "-min-size 0 is out of range"},
		{[]string{"detect", "-factor", "1", img}, 2, "-factor 1 is out of range: it must be above 0 and below 1"},
		{[]string{"detect", "-factor", "0", img}, 2, "-factor 0 is out of range"},
		{[]string{"detect", "-thresholds", "0.6,0.7", img}, 2, "three"},
		{[]string{"detect", "-thresholds", "0.6,0.7,1.5", img}, 2, "-thresholds value 3 (1.5) is out of range"},
		{[]string{"detect", "-thresholds", "0,0,0", img}, 0, ""},
		{[]string{"detect", "-min-size", "1", big}, 1, "-min-size must be at least 2 for this image"},
		{[]string{"detect", "-model", filepath.Join(dir, "nope"), img}, 1, "model"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"detect", img}, 0, ""},
	} {
		_, stderr, code := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) || tc.code == 1 && strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

// TestOutputImages checks -o: one PNG per image, named after it, with the
// faces outlined in green.
func TestOutputImages(t *testing.T) {
	shared := testenv.Shared(t)
	dir := t.TempDir()
	src := filepath.Join(shared, "testdata", "images", "test_image.jpg")
	out, stderr, code := runCLI("detect", "-json", "-o", dir, src)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res := decodeLines(t, out)
	f, err := os.Open(filepath.Join(dir, "test_image.jpg.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Faces) == 0 {
		t.Fatalf("no faces: %q", out)
	}
	b := res[0].Faces[0].Box
	c := color.NRGBAModel.Convert(img.At(int(b[0]+0.5), int((b[1]+b[3])/2))).(color.NRGBA)
	if c != (color.NRGBA{0, 255, 0, 255}) {
		t.Errorf("box edge pixel is %v, want green", c)
	}
}

func TestConvertReproducesEmbedded(t *testing.T) {
	pb := testenv.Path(t, "models", "mtcnn.pb")
	out := filepath.Join(t.TempDir(), "w.bin")
	if _, stderr, code := runCLI("convert", pb, "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, weights.Embedded()) {
		t.Error("converted file differs from the embedded weights")
	}
	// Both the converted file and the frozen graph work as -model.
	for _, m := range []string{out, pb} {
		if _, stderr, code := runCLI("detect", "-model", m, testenv.Path(t, "testdata", "images", "hopper_gray.png")); code != 0 {
			t.Errorf("-model %s: exit %d: %s", m, code, stderr)
		}
	}
	stdout, _, code := runCLI("inspect", pb)
	if code != 0 || !strings.Contains(stdout, "onet/conv6-3/weights\tfloat32\t[1 1 256 10]") {
		t.Errorf("inspect: exit %d, output lacks onet/conv6-3/weights", code)
	}
}

// TestBinaryStandalone builds the binary and runs it from a folder with no
// shared data beside it: the model is embedded.
func TestBinaryStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	shared := testenv.Shared(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "mtcnn")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	img, err := os.ReadFile(filepath.Join(shared, "testdata", "images", "ivan.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "some.jpg"), img, 0o644)
	cmd := exec.Command(bin, "detect", "-json", "some.jpg")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	res := decodeLines(t, string(out))
	ref, err := reference.Load(filepath.Join(shared, "testdata", "reference", "min20", "ivan.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("output %q", out)
	}
	for _, e := range reference.Compare(res[0].Faces, ref.Faces()).Errors {
		t.Error(e)
	}
}
