package cascade_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/reference"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/nets"
)

// TestGolden runs the cascade on every reference image at min size 20 and
// 40 and compares with what the reference graph output.
func TestGolden(t *testing.T) { testGolden(t, false) }

// TestGoldenFMA is TestGolden with fused multiply-add: REFERENCE.md allows
// its rounding differences, and on these images they stay within the
// golden tolerances with the same faces.
func TestGoldenFMA(t *testing.T) {
	if !nets.FMAAvailable() {
		t.Skip("no FMA kernels on this platform: FMA runs as exact arithmetic, which TestGolden covers")
	}
	testGolden(t, true)
}

func testGolden(t *testing.T, fma bool) {
	shared := testenv.Shared(t)
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	refs := reference.Glob(shared)
	if len(refs) == 0 {
		t.Fatal("no reference outputs found")
	}
	for _, path := range refs {
		name := filepath.Base(filepath.Dir(path)) + "/" + strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			ref, err := reference.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			img := testenv.Image(t, filepath.Join(shared, "testdata", "images", ref.Image))
			if b := img.Bounds(); b.Dx() != ref.Width || b.Dy() != ref.Height {
				t.Fatalf("image is %v, reference says %dx%d", b, ref.Width, ref.Height)
			}
			opts := ref.Options()
			opts.FMA = fma
			got, err := det.Detect(context.Background(), img, opts)
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
