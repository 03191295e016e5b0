package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/draw"
)

// TestMakeAndScore makes a small data set from variants of the
// repository's astronaut photo and scores the embedded model on it.
func TestMakeAndScore(t *testing.T) {
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	src, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for i, scale := range []float64{1, 0.7, 0.5} {
		b := src.Bounds()
		dst := image.NewRGBA(image.Rect(0, 0, int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)))
		draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		w, _ := os.Create(filepath.Join(in, string(rune('a'+i))+".png"))
		png.Encode(w, dst)
		w.Close()
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"make", "-src", in, "-o", out, "-n", "6", "-test", "3"}, &stdout, &stderr); code != 0 {
		t.Fatalf("make: %s", stderr.String())
	}
	for _, name := range []string{"train.jsonl", "test.jsonl", "normal.jsonl", "train/0005.png", "test/0002.png"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"score", "-labels", filepath.Join(out, "normal.jsonl")}, &stdout, &stderr); code != 0 {
		t.Fatalf("score: %s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "1 images, 1 faces: recall 1.000") {
		t.Errorf("score of the unmasked held-out photo: %q", stdout.String())
	}
	if code := run(context.Background(), []string{"make", "-src", t.TempDir(), "-o", out}, &stdout, &stderr); code != 1 {
		t.Errorf("make from an empty folder: exit %d", code)
	}
	if code := run(context.Background(), []string{"score"}, &stdout, &stderr); code != 2 {
		t.Errorf("score without labels: exit %d", code)
	}
}
