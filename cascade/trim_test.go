package cascade

import (
	"context"
	"image"
	"testing"

	"github.com/mtcnn-go/mtcnn/nms"
)

// TestTrim checks that a finished detection's buffers past the sizes a
// Detector keeps are dropped, and those within them kept for reuse.
func TestTrim(t *testing.T) {
	big := func() *scratch {
		sc := &scratch{
			bgr:      make([]uint8, 3*keptCopyPixels+1),
			all:      candidates{boxes: make([]nms.Box, 0, maxKeptCandidates+1)},
			a:        candidates{boxes: make([]nms.Box, 0, maxKeptCandidates+1)},
			b:        candidates{boxes: make([]nms.Box, 0, maxKeptCandidates+1)},
			perLevel: []candidates{{boxes: make([]nms.Box, 0, maxKeptCandidates+1)}},
			crops:    make([]float32, maxKeptFloats+1),
			sel:      make([]int, 0, maxKeptCandidates+1),
			src:      source{w: 1, h: 1, bgr: make([]uint8, 3)},
		}
		return sc
	}()
	big.trim()
	if big.bgr != nil || big.all.boxes != nil || big.a.boxes != nil || big.b.boxes != nil ||
		big.perLevel[0].boxes != nil || big.crops != nil || big.sel != nil || big.src.bgr != nil {
		t.Errorf("oversized buffers kept: bgr %d, candidates %d %d %d, level %d, crops %d, sel %d, source %v",
			cap(big.bgr), cap(big.all.boxes), cap(big.a.boxes), cap(big.b.boxes), cap(big.perLevel[0].boxes),
			cap(big.crops), cap(big.sel), big.src.bgr != nil)
	}

	small := &scratch{
		bgr:   make([]uint8, 3*keptCopyPixels),
		all:   candidates{boxes: make([]nms.Box, 0, maxKeptCandidates)},
		crops: make([]float32, maxKeptFloats),
		sel:   make([]int, 0, maxKeptCandidates),
	}
	small.trim()
	if small.bgr == nil || small.all.boxes == nil || small.crops == nil || small.sel == nil {
		t.Errorf("buffers within the kept sizes dropped: bgr %d, candidates %d, crops %d, sel %d",
			cap(small.bgr), cap(small.all.boxes), cap(small.crops), cap(small.sel))
	}

	w := &levelWorker{band: make([]float32, maxKeptFloats+1), raw: candidates{boxes: make([]nms.Box, 0, maxKeptCandidates+1)}}
	w.trim()
	if w.band != nil || w.raw.boxes != nil {
		t.Errorf("oversized worker buffers kept: band %d, candidates %d", cap(w.band), cap(w.raw.boxes))
	}
	w = &levelWorker{band: make([]float32, maxKeptFloats)}
	w.trim()
	if w.band == nil {
		t.Error("a worker's band within the kept size dropped")
	}
}

// TestDetectorDropsLargeCopy checks, through Detect, that the BGR copy of
// an image past keptCopyPixels is not kept by the Detector once the
// detection is done, while a small image's copy is (a steady state
// allocates no pixels). A large min size keeps the pyramid small.
func TestDetectorDropsLargeCopy(t *testing.T) {
	d, err := NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		side int
		kept bool
	}{
		{2100, false}, // 4.4 MP: copied (under copyMaxPixels), then dropped
		{640, true},
	} {
		img := image.NewGray(image.Rect(0, 0, tc.side, tc.side))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 7)
		}
		if _, err := d.Detect(context.Background(), img, Options{MinSize: 400}); err != nil {
			t.Fatal(err)
		}
		sc := d.idle.Get()
		if sc == nil {
			t.Fatalf("%dx%d: no idle buffers after a detection", tc.side, tc.side)
		}
		if got := sc.bgr != nil; got != tc.kept {
			t.Errorf("%dx%d: BGR copy of %d bytes kept: %v, want %v", tc.side, tc.side, cap(sc.bgr), got, tc.kept)
		}
		if sc.src.img != nil || sc.src.bgr != nil {
			t.Errorf("%dx%d: the idle buffers still reference the image", tc.side, tc.side)
		}
		for wk := sc.workers.Get(); wk != nil; wk = sc.workers.Get() {
			if cap(wk.band) > maxKeptFloats {
				t.Errorf("%dx%d: a worker keeps a band of %d floats", tc.side, tc.side, cap(wk.band))
			}
		}
	}
}
