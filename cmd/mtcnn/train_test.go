package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/weights"
)

// trainData writes variants of the repository's astronaut photo and their
// labels (as "detect -json" prints them) into dir, returning the label
// file.
func trainData(t *testing.T, dir string) string {
	t.Helper()
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	src, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i, scale := range []float64{1, 0.7, 0.85, 0.6} {
		b := src.Bounds()
		dst := image.NewRGBA(image.Rect(0, 0, int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)))
		draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		p := filepath.Join(dir, "a"+string(rune('0'+i))+".png")
		w, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(w, dst)
		w.Close()
		paths = append(paths, p)
	}
	stdout, stderr, code := runCLI(append([]string{"detect", "-json"}, paths...)...)
	if code != 0 {
		t.Fatalf("detect: %s", stderr)
	}
	labels := filepath.Join(dir, "labels.jsonl")
	if err := os.WriteFile(labels, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return labels
}

// TestTrainCommand runs a tiny "mtcnn train" and checks that the model it
// writes loads in detect, carries its provenance for "version -model",
// and survives export-onnx and detect -model of the ONNX files.
func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	labels := trainData(t, dir)
	out := filepath.Join(dir, "tuned.weights")
	stdout, stderr, code := runCLI("train", "-labels", labels, "-o", out, "-epochs", "1", "-batch", "8", "-max-samples", "16",
		"-val", "0.25", "-seed", "5", "-q")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stderr, "base model; validation recall") || !strings.Contains(stderr, "O-Net epoch 1") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	// Only O-Net has a landmark output, so only its lines show that loss.
	for _, line := range strings.Split(stderr, "\n") {
		hasNet := strings.HasPrefix(line, "P-Net epoch") || strings.HasPrefix(line, "R-Net epoch")
		if (hasNet && strings.Contains(line, " lmk ")) || (strings.HasPrefix(line, "O-Net epoch") && !strings.Contains(line, " lmk ")) {
			t.Errorf("landmark loss shown wrongly: %q", line)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := weights.Decode(data); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI("version", "-model", out)
	if code != 0 || !strings.Contains(stdout, "base: embedded") || !strings.Contains(stdout, "seed: 5") || !strings.Contains(stdout, "data: "+labels) {
		t.Errorf("version -model: exit %d: %s%s", code, stdout, stderr)
	}
	img := filepath.Join(dir, "a0.png")
	if _, stderr, code := runCLI("detect", "-json", "-model", out, img); code != 0 {
		t.Fatalf("detect -model: %s", stderr)
	}
	onnxDir := filepath.Join(dir, "onnx")
	os.Mkdir(onnxDir, 0o755)
	if _, stderr, code := runCLI("export-onnx", "-model", out, "-o", onnxDir); code != 0 {
		t.Fatalf("export-onnx: %s", stderr)
	}
	a, _, code1 := runCLI("detect", "-json", "-model", out, img)
	b, stderr, code2 := runCLI("detect", "-json", "-model", onnxDir, img)
	if code1 != 0 || code2 != 0 {
		t.Fatalf("detect: %s", stderr)
	}
	// The ONNX files hold the same float32 weights: the same faces.
	if a != b {
		t.Errorf("trained weights detect\n%s\nthrough ONNX\n%s", a, b)
	}

	// serve -model serves the trained model's faces.
	served := serveOnce(t, []string{"-addr", "127.0.0.1:0", "-log-format", "text", "-model", out}, img)
	if want := decodeLines(t, a)[0].Faces; !reflect.DeepEqual(served, want) {
		t.Errorf("serve -model: faces %+v, detect -model %+v", served, want)
	}

	// -resume continues from the checkpoint and records it.
	out2 := filepath.Join(dir, "resumed.weights")
	if _, stderr, code := runCLI("train", "-labels", labels, "-o", out2, "-resume", out, "-nets", "rnet", "-epochs", "1", "-batch", "8",
		"-max-samples", "16", "-q"); code != 0 {
		t.Fatalf("train -resume: %s", stderr)
	}
	stdout, _, _ = runCLI("version", "-model", out2)
	if !strings.Contains(stdout, "resumed_from: "+out) || !strings.Contains(stdout, "nets: rnet") {
		t.Errorf("version -model of the resumed model: %s", stdout)
	}
	// The embedded model has no provenance; plain "version" is unchanged.
	_, _, code = runCLI("version", "-model", filepath.Join(dir, "a0.png"))
	if code != 1 {
		t.Errorf("version -model of an image: exit %d", code)
	}
	if stdout, _, code = runCLI("version"); code != 0 || !strings.HasPrefix(stdout, "mtcnn ") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
}

// serveOnce runs "mtcnn serve" with args, posts the image at path to
// /v1/detect, shuts the server down and returns the faces.
func serveOnce(t *testing.T, args []string, path string) []cascade.Face {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- runServe(ctx, args, &stdout, &stderr) }()
	url := ""
	deadline := time.Now().Add(20 * time.Second)
	for url == "" || !ready(url) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready; stderr %q", stderr.String())
		}
		if _, rest, ok := strings.Cut(stdout.String(), "serving on "); ok && url == "" {
			url, _, _ = strings.Cut(rest, " ")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Post(url+"/v1/detect", "image/png", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Faces []cascade.Face }
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d: %s", code, stderr.String())
	}
	return res.Faces
}

// TestTrainInterrupted cancels "mtcnn train" (as Ctrl-C does) once it has
// written its first checkpoint: it exits 1 saying where the best model
// is, and that file is a complete model.
func TestTrainInterrupted(t *testing.T) {
	dir := t.TempDir()
	labels := trainData(t, dir)
	out := filepath.Join(dir, "tuned.weights")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(out); err == nil {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"train", "-labels", labels, "-o", out, "-epochs", "50", "-batch", "8", "-val", "0.25", "-q"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "interrupted; the best model so far is in "+out) {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := weights.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata()["checkpoint"] == "" {
		t.Errorf("checkpoint without provenance: %v", m.Metadata())
	}
}

func TestTrainCommandErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	broken := filepath.Join(dir, "broken.jsonl")
	os.WriteFile(broken, []byte(`{"image":"x.png","faces":[{"box":[1,2]}]}`+"\n"), 0o644)
	noImages := filepath.Join(dir, "noimages.jsonl")
	os.WriteFile(noImages, []byte(`{"image":"missing.png","faces":[{"box":[1,2,30,40]},{"box":[5,5,5,5]}]}`+"\n"), 0o644)
	out := filepath.Join(dir, "o.weights")
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no-labels", []string{"train", "-o", out}, 2, "Usage: mtcnn train"},
		{"no-output", []string{"train", "-labels", empty}, 2, "Usage: mtcnn train"},
		{"bad-nets", []string{"train", "-labels", empty, "-o", out, "-nets", "qnet"}, 2, "unknown net"},
		{"model-and-resume", []string{"train", "-labels", empty, "-o", out, "-model", "a", "-resume", "b"}, 2, "exclusive"},
		{"empty", []string{"train", "-labels", empty, "-o", out}, 1, empty + ": bad label file: no images"},
		{"missing", []string{"train", "-labels", filepath.Join(dir, "nope.jsonl"), "-o", out}, 1, "nope.jsonl"},
		{"malformed", []string{"train", "-labels", broken, "-o", out}, 1, broken + ": bad label file: line 1"},
		{"bad-format", []string{"train", "-format", "csv", "-labels", empty, "-o", out}, 1, "unknown format"},
		{"undecodable", []string{"train", "-labels", noImages, "-o", out, "-q"}, 1, "no usable training images"},
		{"bad-model", []string{"train", "-labels", empty, "-o", out, "-model", empty}, 1, "model"},
		{"bad-lr", []string{"train", "-labels", noImages, "-o", out, "-lr", "-1"}, 1, "learning rate"},
		{"version-bad-model", []string{"version", "-model", empty}, 1, "mtcnn version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(c.args...)
			if code != c.code || !strings.Contains(stderr, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.msg)
			}
			if c.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
				t.Errorf("error of more than two lines: %q", stderr)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed run wrote a model")
	}
}

// TestTrainDivergesCommand runs "mtcnn train" with a learning rate far too
// high: it stops with exit 1 and one line saying so and where the best
// model (here the base model, which no epoch beat) is, and that file is a
// complete model.
func TestTrainDivergesCommand(t *testing.T) {
	dir := t.TempDir()
	labels := trainData(t, dir)
	out := filepath.Join(dir, "tuned.weights")
	_, stderr, code := runCLI("train", "-labels", labels, "-o", out, "-nets", "pnet", "-epochs", "50", "-batch", "8",
		"-max-samples", "64", "-lr", "1e4", "-clip", "-1", "-val", "0.25", "-q")
	if code != 1 || !strings.Contains(stderr, "diverged") || !strings.Contains(stderr, "the best model so far is in "+out) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := weights.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, weights.Embedded()) {
		t.Errorf("the model kept is not the base model; provenance %v", m.Metadata())
	}
}
