package cascade_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

func benchmarkDetect(b *testing.B, image string, minSize float32) {
	img := testenv.Image(b, testenv.Path(b, "testdata", "images", image))
	det, err := cascade.NewDefault()
	if err != nil {
		b.Fatal(err)
	}
	opts := cascade.Options{MinSize: minSize}
	// A few runs first: pyramid levels go to whichever worker is free,
	// so each worker's buffers reach their size over a few runs.
	for range 4 {
		if _, err := det.Detect(context.Background(), img, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := det.Detect(context.Background(), img, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	for _, tc := range []struct {
		name    string
		image   string
		minSize float32
	}{
		{"solvay/min20", "solvay.png", 20},
		{"solvay/min40", "solvay.png", 40},
		{"road_1080p/min20", "road_1080p.png", 20},
		{"ivan/min40", "ivan.png", 40},
	} {
		b.Run(tc.name, func(b *testing.B) { benchmarkDetect(b, filepath.Base(tc.image), tc.minSize) })
	}
}
