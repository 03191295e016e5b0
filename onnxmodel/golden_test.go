package onnxmodel

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/reference"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// goldenImages are the reference images the ONNX round trips detect on,
// each at min size 20 and 40.
var goldenImages = []string{"multiface", "solvay", "sunglasses", "no_faces"}

// TestGoldenONNX writes the embedded model as ONNX files, and a
// facenet-pytorch-style copy, loads each back with Load (directory and
// file list) and runs the cascade on reference images: the faces must be
// the reference's.
func TestGoldenONNX(t *testing.T) {
	shared := testenv.Shared(t)
	m := defaultModel(t)
	ours := t.TempDir()
	if err := WriteDir(m, ours); err != nil {
		t.Fatal(err)
	}
	torch := t.TempDir()
	var torchFiles []string
	for _, k := range []int{2, 0, 1} { // any order
		kind := allKinds[k]
		p := filepath.Join(torch, "facenet-"+FileName(kind))
		if err := os.WriteFile(p, facenet.build(t, m, kind), 0o644); err != nil {
			t.Fatal(err)
		}
		torchFiles = append(torchFiles, p)
	}
	models := []struct {
		name  string
		o     Options
		paths []string
	}{
		{"export-dir", Options{}, []string{ours}},
		{"facenet-files", facenet.options(), torchFiles},
	}
	for _, mc := range models {
		t.Run(mc.name, func(t *testing.T) {
			mdl, err := Load(mc.o, mc.paths...)
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, mdl.Weights, m)
			det, err := cascade.New(mdl.Weights)
			if err != nil {
				t.Fatal(err)
			}
			for _, dir := range []string{"min20", "min40"} {
				for _, name := range goldenImages {
					t.Run(dir+"/"+name, func(t *testing.T) {
						ref, err := reference.Load(filepath.Join(shared, "testdata", "reference", dir, name+".json"))
						if err != nil {
							t.Fatal(err)
						}
						img := testenv.Image(t, filepath.Join(shared, "testdata", "images", ref.Image))
						got, err := det.Detect(context.Background(), img, ref.Options())
						if err != nil {
							t.Fatal(err)
						}
						d := reference.Compare(got, ref.Faces())
						for _, e := range d.Errors {
							t.Error(e)
						}
						t.Logf("%d faces, max diff %.3g px, %.3g score", len(got), d.MaxPixel, d.MaxScore)
					})
				}
			}
		})
	}
}
