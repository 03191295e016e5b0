package cascade_test

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"runtime"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// TestWorkingSetBounded checks the shape of the memory model: a small
// image pays for its BGR copy, a large one does not, and the figure stops
// growing with the image.
func TestWorkingSetBounded(t *testing.T) {
	def := cascade.Options{}
	small := cascade.WorkingSet(640, 480, def)
	if small < 3*640*480 {
		t.Errorf("640x480: %d bytes, less than its BGR copy", small)
	}
	big := cascade.WorkingSet(8000, 5500, def)
	huge := cascade.WorkingSet(7071, 7071, def)
	if big > 100<<20 || huge > 100<<20 {
		t.Errorf("44 MP: %d bytes, 50 MP: %d bytes, want under 100 MiB", big, huge)
	}
	if d := huge - big; d < -(8<<20) || d > 8<<20 {
		t.Errorf("44 MP: %d bytes, 50 MP: %d bytes: the working set grows with the image", big, huge)
	}
	if tiny := cascade.WorkingSet(8, 8, def); tiny <= 0 || tiny > small {
		t.Errorf("8x8: %d bytes", tiny)
	}
	if got := cascade.WorkingSet(0, 0, def); got <= 0 {
		t.Errorf("0x0: %d bytes", got)
	}
}

// TestWorkingSetMeasured checks WorkingSet against what a cold detection
// (a new Detector) allocates in all on images copied to BGR (all up to
// copyMaxPixels) and, with ReadLarge, on one read directly as images past
// it are, without the copy's 3*w*h: everything allocated bounds what is live at any
// time, so the estimate must cover it; it should not exceed it by an
// order of magnitude. Other tests may have left buffers in the nets'
// shared pool, which only lowers the measurement: the upper bound is
// loose.
func TestWorkingSetMeasured(t *testing.T) {
	photo := testenv.Image(t, testenv.Path(t, "testdata", "images", "solvay.png"))
	for _, tc := range []struct {
		size   image.Point
		direct bool
	}{{image.Pt(3000, 2000), true}, {image.Pt(3000, 2000), false}, {image.Pt(1280, 960), false}} {
		size := tc.size
		t.Run(fmt.Sprintf("%dx%d/direct=%v", size.X, size.Y, tc.direct), func(t *testing.T) {
			img := image.NewRGBA(image.Rectangle{Max: size})
			pb := photo.Bounds()
			for y := 0; y < size.Y; y += pb.Dy() {
				for x := 0; x < size.X; x += pb.Dx() {
					draw.Draw(img, pb.Sub(pb.Min).Add(image.Pt(x, y)), photo, pb.Min, draw.Src)
				}
			}
			d, err := cascade.NewDefault()
			if err != nil {
				t.Fatal(err)
			}
			est := cascade.WorkingSet(size.X, size.Y, cascade.Options{})
			if tc.direct {
				defer cascade.ReadLarge(0)()
				est -= 3 * int64(size.X) * int64(size.Y)
			}
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			faces, err := d.Detect(context.Background(), img, cascade.Options{})
			runtime.ReadMemStats(&m1)
			if err != nil {
				t.Fatal(err)
			}
			got := int64(m1.TotalAlloc - m0.TotalAlloc)
			t.Logf("%d faces; allocated %.1f MiB, WorkingSet %.1f MiB", len(faces), float64(got)/(1<<20), float64(est)/(1<<20))
			if got > est {
				t.Errorf("a cold detection allocated %d bytes, more than WorkingSet's %d", got, est)
			}
			if est > 8*got {
				t.Errorf("WorkingSet %d bytes, over 8 times the %d a cold detection allocated", est, got)
			}
		})
	}
}
