package batch

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// BenchmarkRun runs a batch over the shared JPEGs (11 photos) copied into
// two folders; one op is the whole batch. Compare -cpu 1,2 for scaling.
// Besides images/s it reports busy-%: the share of the GOMAXPROCS cores'
// time the Go scheduler had work on them (100 - the runtime's idle
// class, see cpuClasses), which, unlike CPU / (wall x cores), does not
// drop when other processes take the machine's CPUs.
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

// cpuClasses returns the runtime's estimates of the cores' time so far
// that no goroutine used (idle) and in all (GOMAXPROCS x wall time), in
// seconds. The runtime updates them at each garbage collection, so one
// runs first.
func cpuClasses() (idle, total float64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/cpu/classes/idle:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64()
}

func benchRun(b *testing.B, det *cascade.Detector, items []Item, opts Options) {
	b.ReportAllocs()
	idle0, total0 := cpuClasses()
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
	if idle1, total1 := cpuClasses(); total1 > total0 {
		b.ReportMetric(100*(1-(idle1-idle0)/(total1-total0)), "busy-%")
	}
}
