package cascade

import (
	"context"
	"errors"
	"image"

	"github.com/mtcnn-go/mtcnn/nms"
)

// DetectNear runs R-Net and O-Net only (stages 2 and 3, skipping the P-Net
// pyramid) on candidate boxes the caller already has, such as the faces a
// video tracker expects in this frame from the frames before. Each box is
// x1, y1, x2, y2 in pixels and goes to R-Net as given (P-Net's proposals
// are square; give square boxes, as R-Net's 24x24 input stretches others),
// then is refined, thresholded, suppressed and regressed exactly as in
// Detect. The result is what Detect gives when P-Net proposes exactly these
// boxes: a face outside every box is not found. It costs about one R-Net and one
// O-Net pass per box, a small part of a full detection.
func (d *Detector) DetectNear(ctx context.Context, img image.Image, boxes [][4]float32, opts Options) ([]Face, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if img == nil {
		return nil, errors.New("cascade: nil image")
	}
	if len(boxes) == 0 {
		return []Face{}, nil
	}
	sc := d.getScratch()
	defer d.putScratch(sc)
	// The crops read only the pixels under the boxes, straight from the
	// decoded image when its type allows (the same values as a copy).
	if streamable(img) {
		r := img.Bounds()
		sc.src = source{w: r.Dx(), h: r.Dy(), img: img, r: r}
	} else {
		sc.src = newSource(img, sc.bgr)
		sc.bgr = sc.src.bgr
	}
	bgr := &sc.src
	// Stage 2 takes stage 1's result in sc.a.
	c := &sc.a
	c.reset()
	for _, b := range boxes {
		c.add(nms.Box{b[1], b[0], b[3], b[2]}, 0, [4]float32{})
	}
	mode := opts.mode()
	c, err := d.stage2(ctx, bgr, c, opts.Thresholds[1], mode, sc)
	if err != nil {
		return []Face{}, err
	}
	if len(c.boxes) == 0 {
		return []Face{}, nil
	}
	return d.stage3(ctx, bgr, c, opts.Thresholds[2], mode, sc)
}
