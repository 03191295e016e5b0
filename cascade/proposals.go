package cascade

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
)

// This file exposes the cascade's intermediate results for training
// (package train mines R-Net and O-Net samples from them): the boxes a
// stage hands to the next, and crops made exactly as the cascade makes
// them.

// Proposals returns the candidate boxes the cascade passes to a later
// stage for img: stage 2 gives R-Net's input (P-Net's candidates after
// NMS, regression and squaring), stage 3 O-Net's input (R-Net's survivors,
// likewise). Boxes are x1, y1, x2, y2 in pixels, in the cascade's order;
// they may extend past the image. The result is what Detect computes on
// the way, so it is bit-exact with it.
func (d *Detector) Proposals(ctx context.Context, img image.Image, opts Options, stage int) ([][4]float32, error) {
	if stage != 2 && stage != 3 {
		return nil, fmt.Errorf("cascade: proposals for stage %d: %w: want 2 or 3", stage, ErrOptions)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if img == nil {
		return nil, errors.New("cascade: nil image")
	}
	sc := d.getScratch()
	defer d.putScratch(sc)
	levels, err := pyramid(sc.levels, img.Bounds().Dy(), img.Bounds().Dx(), opts)
	if err != nil {
		return nil, err
	}
	sc.levels = levels
	if len(levels) == 0 {
		return nil, nil
	}
	sc.src = newSource(img, sc.bgr)
	if sc.src.bgr != nil {
		sc.bgr = sc.src.bgr
	}
	bgr := &sc.src
	mode := opts.mode()
	c, err := d.stage1(ctx, bgr, levels, opts.Thresholds[0], mode, sc)
	if err != nil {
		return nil, err
	}
	if stage == 3 && len(c.boxes) > 0 {
		if c, err = d.stage2(ctx, bgr, c, opts.Thresholds[1], mode, sc); err != nil {
			return nil, err
		}
	}
	out := make([][4]float32, len(c.boxes))
	for i, b := range c.boxes {
		out[i] = [4]float32{b[1], b[0], b[3], b[2]}
	}
	return out, nil
}

// CropSource is an image prepared for cropping as the cascade crops its
// candidates for R-Net and O-Net. It is safe for concurrent use.
type CropSource struct {
	img source // always a BGR copy: reading it needs no buffers
}

// NewCropSource converts img to the pixels the cascade reads.
func NewCropSource(img image.Image) *CropSource {
	c := toBGR(img, nil)
	return &CropSource{img: source{w: c.w, h: c.h, bgr: c.pix}}
}

// Size returns the image's width and height.
func (c *CropSource) Size() (w, h int) { return c.img.w, c.img.h }

// Crop samples box (x1, y1, x2, y2 in pixels) onto a size x size grid
// with the cascade's bilinear crop-and-resize, outside the image 0, as
// NHWC BGR values normalised as the nets take them ((v - 127.5) / 128).
// The result is appended to dst[:0]. size must be at least 2.
func (c *CropSource) Crop(dst []float32, box [4]float32, size int) []float32 {
	dst = slices.Grow(dst[:0], size*size*3)[:size*size*3]
	cropAndResize(&c.img, [4]float32{box[1], box[0], box[3], box[2]}, size, dst)
	return dst
}
