package train

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/score"
)

// Samples are made as the MTCNN article makes them (Zhang et al. 2016):
// square crops labelled by their largest IoU with a labelled face,
// negative below 0.3, part from 0.4 to 0.65, positive above 0.65, with
// the offsets of that face's box as regression targets, and landmark
// samples around the faces that have landmarks. P-Net's come from random
// crops and crops shifted around each face; R-Net's and O-Net's negatives,
// parts and positives are mined from the boxes the earlier stages of the
// current model propose (cascade.Detector.Proposals), so they learn that
// model's mistakes, topped up with shifted crops. The classes are then
// balanced to 3:1:1:2 (negative:positive:part:landmark).

// IoU thresholds of the sample classes.
const (
	negIoU  = 0.3
	partIoU = 0.4
	posIoU  = 0.65
)

// minFace is the smallest face side, in pixels, that makes positive,
// part and landmark samples: smaller faces are too blurred at 12 pixels.
const minFace = 12

// Per image and face, how many crops to try.
const (
	shiftTries    = 12 // shifted crops per face, for positives and parts
	landmarkTries = 4  // shifted crops per face with landmarks
	randomNegs    = 12 // random negatives per image
	nearNegs      = 3  // negatives near each face
)

// miner makes the samples of one net from images.
type miner struct {
	kind nets.Kind
	det  *cascade.Detector // the current model, for R-Net and O-Net
	opts cascade.Options
	flip bool
}

// classify returns the class of a crop by its largest IoU with the faces,
// the index of that face, and whether the crop is usable (IoU from 0.3 to
// 0.4 is ambiguous and dropped).
func classify(box [4]float32, faces []Face) (Class, int, bool) {
	best, bi := 0.0, -1
	for i, f := range faces {
		if v := score.IoU(box, f.Box); v > best {
			best, bi = v, i
		}
	}
	switch {
	case best < negIoU:
		return Negative, -1, true
	case best > posIoU:
		return Positive, bi, true
	case best >= partIoU:
		return Part, bi, true
	}
	return 0, -1, false
}

// targets returns the box and landmark regression targets of face f for a
// crop box c, in the nets' conventions (see Sample).
func targets(c [4]float32, f Face) (box [4]float32, lm [10]float32, ok bool) {
	w, h := c[2]-c[0], c[3]-c[1]
	box = [4]float32{(f.Box[1] - c[1]) / h, (f.Box[0] - c[0]) / w, (f.Box[3] - c[3]) / h, (f.Box[2] - c[2]) / w}
	if f.Landmarks != nil {
		for p, xy := range f.Landmarks {
			lm[p] = (xy[1] - c[1]) / h
			lm[5+p] = (xy[0] - c[0]) / w
		}
		ok = true
	}
	return box, lm, ok
}

// flipSample mirrors a sample left to right: its pixels, its box targets
// (the x offsets swap ends and sign) and its landmarks (x mirrored, the
// eyes and the mouth corners swapped).
func flipSample(s *Sample, size int) {
	for y := 0; y < size; y++ {
		row := s.Pixels[y*size*3 : (y+1)*size*3]
		for a, b := 0, size-1; a < b; a, b = a+1, b-1 {
			for c := 0; c < 3; c++ {
				row[3*a+c], row[3*b+c] = row[3*b+c], row[3*a+c]
			}
		}
	}
	s.Box[1], s.Box[3] = -s.Box[3], -s.Box[1]
	if s.HasLandmarks {
		ys, xs := s.Landmarks[:5], s.Landmarks[5:]
		for p := range xs {
			xs[p] = 1 - xs[p]
		}
		for _, sw := range [][2]int{{0, 1}, {3, 4}} {
			ys[sw[0]], ys[sw[1]] = ys[sw[1]], ys[sw[0]]
			xs[sw[0]], xs[sw[1]] = xs[sw[1]], xs[sw[0]]
		}
	}
}

// crop makes the sample of crop box c (x1, y1, x2, y2).
func (m *miner) crop(src *cascade.CropSource, buf *[]float32, c [4]float32, class Class, f *Face, r *rand.Rand) Sample {
	size := m.kind.InputSize()
	*buf = src.Crop(*buf, c, size)
	px := make([]uint8, len(*buf))
	for i, v := range *buf {
		px[i] = quantise(v)
	}
	s := Sample{Pixels: px, Class: class}
	if f != nil {
		box, lm, ok := targets(c, *f)
		if class == Positive || class == Part {
			s.Box = box
		}
		if class == Landmark && ok {
			s.Landmarks, s.HasLandmarks = lm, true
		}
	}
	if m.flip && class != Negative && r.IntN(2) == 1 {
		flipSample(&s, size)
	}
	return s
}

// square returns the square box of side 'side' centred at (cx, cy).
func square(cx, cy, side float32) [4]float32 {
	return [4]float32{cx - side/2, cy - side/2, cx + side/2, cy + side/2}
}

func uniform(r *rand.Rand, lo, hi float64) float32 {
	return float32(lo + (hi-lo)*r.Float64())
}

// mine makes the samples of one image. faces are its labelled faces,
// already checked to lie on the image.
func (m *miner) mine(ctx context.Context, img image.Image, faces []Face, r *rand.Rand) ([]Sample, error) {
	src := cascade.NewCropSource(img)
	W, H := src.Size()
	var out []Sample
	var buf []float32
	add := func(c [4]float32) {
		class, fi, ok := classify(c, faces)
		if !ok {
			return
		}
		var f *Face
		if fi >= 0 {
			f = &faces[fi]
		}
		out = append(out, m.crop(src, &buf, c, class, f, r))
	}
	// Random negatives over the whole image.
	if maxSide := float64(min(W, H)) / 2; maxSide > minFace {
		for i := 0; i < randomNegs; i++ {
			side := uniform(r, minFace, maxSide)
			x, y := uniform(r, 0, float64(W)-float64(side)), uniform(r, 0, float64(H)-float64(side))
			c := [4]float32{x, y, x + side, y + side}
			if class, _, _ := classify(c, faces); class == Negative {
				out = append(out, m.crop(src, &buf, c, Negative, nil, r))
			}
		}
	}
	for fi := range faces {
		f := &faces[fi]
		w, h := float64(f.Box[2]-f.Box[0]), float64(f.Box[3]-f.Box[1])
		if max(w, h) < minFace {
			continue
		}
		cx, cy := float64(f.Box[0])+w/2, float64(f.Box[1])+h/2
		// Negatives next to the face.
		for i := 0; i < nearNegs; i++ {
			side := uniform(r, minFace, max(minFace+1, math.Max(w, h)))
			dx, dy := uniform(r, -float64(side)-w/2, w/2+float64(side)), uniform(r, -float64(side)-h/2, h/2+float64(side))
			c := square(float32(cx)+dx, float32(cy)+dy, side)
			if class, _, _ := classify(c, faces); class == Negative {
				out = append(out, m.crop(src, &buf, c, Negative, nil, r))
			}
		}
		// Shifted crops: positives and parts.
		for i := 0; i < shiftTries; i++ {
			side := uniform(r, 0.8*math.Min(w, h), 1.25*math.Max(w, h))
			c := square(float32(cx)+uniform(r, -0.2*w, 0.2*w), float32(cy)+uniform(r, -0.2*h, 0.2*h), side)
			add(c)
		}
		if f.Landmarks != nil {
			for i := 0; i < landmarkTries; i++ {
				side := uniform(r, 0.9*math.Max(w, h), 1.1*math.Max(w, h))
				c := square(float32(cx)+uniform(r, -0.1*w, 0.1*w), float32(cy)+uniform(r, -0.1*h, 0.1*h), side)
				if class, _, _ := classify(c, []Face{*f}); class == Positive {
					out = append(out, m.crop(src, &buf, c, Landmark, f, r))
				}
			}
		}
	}
	// R-Net and O-Net: the current model's proposals, hard cases included.
	if m.kind != nets.PNet && m.det != nil {
		stage := 2
		if m.kind == nets.ONet {
			stage = 3
		}
		boxes, err := m.det.Proposals(ctx, img, m.opts, stage)
		if err != nil {
			return nil, fmt.Errorf("mining %v samples: %w", m.kind, err)
		}
		for _, b := range boxes {
			if b[2]-b[0] < minFace/2 || b[3]-b[1] < minFace/2 {
				continue
			}
			add(b)
		}
	}
	return out, nil
}

// balance shuffles the samples and keeps at most 3 negatives, 1 part and
// 2 landmark samples per positive (at least 8 negatives and 8 parts when
// there are few positives).
func balance(samples []Sample, r *rand.Rand) []Sample {
	r.Shuffle(len(samples), func(i, j int) { samples[i], samples[j] = samples[j], samples[i] })
	var n [4]int
	for _, s := range samples {
		n[s.Class]++
	}
	pos := n[Positive]
	limit := [4]int{max(3*pos, 8), pos, max(pos, 8), max(2*pos, 16)}
	var kept [4]int
	out := samples[:0]
	for _, s := range samples {
		if kept[s.Class] < limit[s.Class] {
			kept[s.Class]++
			out = append(out, s)
		}
	}
	return out
}

// Counts returns how many samples of each class there are.
func Counts(samples []Sample) (c [4]int) {
	for _, s := range samples {
		c[s.Class]++
	}
	return c
}
