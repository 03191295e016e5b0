package cascade_test

import (
	"context"
	"errors"
	"image/png"
	"os"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// TestProposals checks that the boxes Proposals returns are the candidates
// Detect counts after stages 1 and 2, and that cropping the face Detect
// finds gives O-Net a crop it scores as a face.
func TestProposals(t *testing.T) {
	f, err := os.Open("../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	det := detector(t)
	ctx := context.Background()
	faces, st, err := det.DetectStats(ctx, img, cascade.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for stage := 2; stage <= 3; stage++ {
		boxes, err := det.Proposals(ctx, img, cascade.Options{}, stage)
		if err != nil {
			t.Fatal(err)
		}
		if len(boxes) != st.Candidates[stage-2] || len(boxes) == 0 {
			t.Errorf("stage %d: %d proposals, Detect's stage %d kept %d", stage, len(boxes), stage-1, st.Candidates[stage-2])
		}
	}
	if _, err := det.Proposals(ctx, img, cascade.Options{}, 1); !errors.Is(err, cascade.ErrOptions) {
		t.Errorf("stage 1: error %v, want ErrOptions", err)
	}
	src := cascade.NewCropSource(img)
	if w, h := src.Size(); w != img.Bounds().Dx() || h != img.Bounds().Dy() {
		t.Errorf("size %dx%d", w, h)
	}
	crop := src.Crop(nil, faces[0].Box, 48)
	if len(crop) != 48*48*3 {
		t.Fatalf("crop of %d values", len(crop))
	}
	var lo, hi float32
	for _, v := range crop {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo < -1 || hi > 1 || hi-lo < 0.5 {
		t.Errorf("crop values in [%v, %v], want a face's contrast within [-1, 1]", lo, hi)
	}
}
