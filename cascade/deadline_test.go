package cascade_test

import (
	"context"
	"errors"
	"image"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// checkCounter is a context that counts the detector's checks of Err and
// reports its deadline exceeded from check number expireAt on.
type checkCounter struct {
	context.Context
	checks   atomic.Int64
	expireAt int64 // 0: never
}

func (c *checkCounter) Err() error {
	n := c.checks.Add(1)
	if c.expireAt > 0 && n >= c.expireAt {
		return context.DeadlineExceeded
	}
	return nil
}

// noise returns a w x h gray image of random pixels: no faces, but P-Net
// runs over every band of every level.
func noise(w, h int) image.Image {
	m := image.NewGray(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(5, 6))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
	}
	return m
}

// TestContextChecks checks that a detection looks at its context at least
// once per P-Net band of work (bandPixels of a pyramid level), so that a
// deadline is kept to within one band.
func TestContextChecks(t *testing.T) {
	d := detector(t)
	const w, h = 2400, 1600
	ctx := &checkCounter{Context: context.Background()}
	if _, err := d.Detect(ctx, noise(w, h), cascade.Options{}); err != nil {
		t.Fatal(err)
	}
	px, _ := cascade.PyramidPixels(w, h, cascade.Options{})
	checks := ctx.checks.Load()
	if px/checks > cascade.BandPixels {
		t.Errorf("%d checks over %d pyramid pixels: one per %d pixels, want at least one per %d", checks, px, px/checks, cascade.BandPixels)
	}
	t.Logf("%d checks over %d pyramid pixels", checks, px)
}

// TestDeadlineStops checks that a detection whose deadline passes in the
// middle of the pyramid returns an error wrapping
// context.DeadlineExceeded, and that it stops at once: after the first
// failed check each worker looks at the context once per level left and
// runs nothing more.
func TestDeadlineStops(t *testing.T) {
	d := detector(t)
	const w, h = 2400, 1600
	img := noise(w, h)
	for _, at := range []int64{1, 2, 5, 12} {
		ctx := &checkCounter{Context: context.Background(), expireAt: at}
		_, err := d.Detect(ctx, img, cascade.Options{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("expiring at check %d: error %v, want one wrapping context.DeadlineExceeded", at, err)
		}
		levels := int64(cascade.Levels(w, h, cascade.Options{}))
		if after := ctx.checks.Load() - at; after > levels+int64(runtime.GOMAXPROCS(0)) {
			t.Errorf("expiring at check %d: %d more checks after it, want at most one per level left and worker", at, after)
		}
	}
}
