package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/reference"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/onnxmodel"
)

var onnxNames = []string{"pnet.onnx", "rnet.onnx", "onet.onnx"}

// exportONNX runs "mtcnn export-onnx" and returns the directory written.
func exportONNX(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "onnx")
	stdout, stderr, code := runCLI(append([]string{"export-onnx", "-o", dir}, args...)...)
	if code != 0 {
		t.Fatalf("export-onnx %q: exit %d: %s", args, code, stderr)
	}
	for _, name := range onnxNames {
		if !strings.Contains(stdout, filepath.Join(dir, name)) {
			t.Errorf("output %q does not mention %s", stdout, name)
		}
	}
	return dir
}

func sameFiles(t *testing.T, a, b string) bool {
	t.Helper()
	for _, name := range onnxNames {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// TestExportONNX checks export-onnx from the embedded model and from models
// given with -model: the frozen graph and ONNX files in another convention.
func TestExportONNX(t *testing.T) {
	ours := exportONNX(t)
	m, err := onnxmodel.Load(onnxmodel.Options{}, ours)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range m.Nets {
		if n.Kind != nets.Kind(k) || len(n.Notes) != 0 {
			t.Errorf("net %d: %v, notes %q", k, n.Kind, n.Notes)
		}
	}
	if again := exportONNX(t, "-model", ours); !sameFiles(t, ours, again) {
		t.Error("exporting the exported files changed them")
	}
	// Reading our files as RGB, x-first and writing them swaps conv1's
	// channels and the heads' outputs; doing it twice restores them.
	swapped := exportONNX(t, "-model", ours, "-rgb", "-xy")
	if sameFiles(t, ours, swapped) {
		t.Error("-rgb -xy changed nothing")
	}
	if back := exportONNX(t, "-model", swapped, "-rgb", "-xy"); !sameFiles(t, ours, back) {
		t.Error("-rgb -xy twice did not restore the files")
	}
	t.Run("frozen-graph", func(t *testing.T) {
		pb := testenv.Path(t, "models", "mtcnn.pb")
		if fromPB := exportONNX(t, "-model", pb); !sameFiles(t, ours, fromPB) {
			t.Error("export from mtcnn.pb differs from the embedded model's")
		}
	})
}

// TestDetectONNX runs "mtcnn detect -model" with exported ONNX files, as a
// directory and as a comma-separated list in any order, on reference
// images.
func TestDetectONNX(t *testing.T) {
	shared := testenv.Shared(t)
	dir := exportONNX(t)
	list := strings.Join([]string{
		filepath.Join(dir, "onet.onnx"), filepath.Join(dir, "pnet.onnx"), filepath.Join(dir, "rnet.onnx"),
	}, ",")
	for _, model := range []string{dir, list} {
		for _, sub := range []string{"min20", "min40"} {
			for _, name := range []string{"multiface", "sunglasses"} {
				ref, err := reference.Load(filepath.Join(shared, "testdata", "reference", sub, name+".json"))
				if err != nil {
					t.Fatal(err)
				}
				img := filepath.Join(shared, "testdata", "images", ref.Image)
				stdout, stderr, code := runCLI("detect", "-json", "-model", model,
					"-min-size", fmt.Sprint(ref.Params.MinSize), "-factor", fmt.Sprint(ref.Params.Factor),
					"-thresholds", fmt.Sprintf("%v,%v,%v", ref.Params.Thresholds[0], ref.Params.Thresholds[1], ref.Params.Thresholds[2]),
					img)
				if code != 0 || stderr != "" {
					t.Fatalf("-model %s %s: exit %d: %s", model, name, code, stderr)
				}
				res := decodeLines(t, stdout)
				if len(res) != 1 {
					t.Fatalf("got %d JSON lines", len(res))
				}
				for _, e := range reference.Compare(res[0].Faces, ref.Faces()).Errors {
					t.Errorf("-model %s %s/%s: %s", model, sub, name, e)
				}
			}
		}
	}
}

// TestONNXModelErrors checks the errors for -model values that do not
// give three ONNX nets, and for -rgb without an ONNX model.
func TestONNXModelErrors(t *testing.T) {
	dir := exportONNX(t)
	notONNX := filepath.Join(t.TempDir(), "junk.onnx")
	if err := os.WriteFile(notONNX, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "pnet.onnx")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"one-file", []string{"detect", "-model", p, "x.png"}, 1, "want a directory holding pnet.onnx"},
		{"two-p-nets", []string{"detect", "-model", p + "," + p + "," + filepath.Join(dir, "onet.onnx"), "x.png"}, 1, "are both P-Net"},
		{"not-onnx", []string{"detect", "-model", notONNX + "," + p + "," + p, "x.png"}, 1, "malformed ONNX model"},
		{"empty-dir", []string{"detect", "-model", t.TempDir(), "x.png"}, 1, "pnet.onnx"},
		{"rgb-without-onnx", []string{"detect", "-rgb", "x.png"}, 1, "-rgb and -xy apply to ONNX models only"},
		{"export-without-o", []string{"export-onnx"}, 2, "Usage: mtcnn export-onnx"},
		{"export-extra-arg", []string{"export-onnx", "-o", t.TempDir(), "extra"}, 2, "Usage: mtcnn export-onnx"},
		{"export-bad-model", []string{"export-onnx", "-o", t.TempDir(), "-model", p}, 1, "want a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.msg)
			}
		})
	}
}
