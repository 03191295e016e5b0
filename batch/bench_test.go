package batch

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// BenchmarkRun runs a batch over the shared JPEGs (11 photos) copied into
// two folders; one op is the whole batch. Compare -cpu 1,2 for scaling.
func BenchmarkRun(b *testing.B) {
	photos, _ := filepath.Glob(testenv.Path(b, "testdata", "images", "*.jpg"))
	dir := b.TempDir()
	for _, sub := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		for _, p := range photos {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, sub, filepath.Base(p)), data, 0o644)
		}
	}
	items, err := Walk(context.Background(), []string{dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		workers int
	}{{"workers=1", 1}, {"workers=default", 0}} {
		b.Run(bc.name, func(b *testing.B) { benchRun(b, det, items, Options{Workers: bc.workers}) })
	}
}

func benchRun(b *testing.B, det *cascade.Detector, items []Item, opts Options) {
	b.ReportAllocs()
	for b.Loop() {
		_, err := Run(context.Background(), det, items, opts, func(r *Result) error {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(items)*b.N)/b.Elapsed().Seconds(), "images/s")
}
