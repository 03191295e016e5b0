// Package orient finds faces at any orientation: it runs the detector on
// rotated copies of an image, maps each copy's boxes and landmarks back to
// the original image's coordinates, and merges the faces found in several
// copies by non-maximum suppression, reporting for each face the rotation
// of the copy it came from.
//
// Rotations are clockwise, in degrees: a face reported with rotation 90
// was found in the copy turned 90 degrees clockwise, so in the original
// it lies turned 90 degrees counterclockwise (its head towards the left).
// Right angles turn the image by an exact permutation of its pixels;
// other angles resample it bilinearly onto a canvas large enough to hold
// the whole turned image (black outside).
//
// Coordinates follow the detector's conventions, measured on mirrored
// photos (where the mirror image of a landmark at x is found at W-x, and
// of a box x1..x2 at W-1-x2..W-1-x1): landmarks are points on a plane
// where pixel i covers [i, i+1), so turning a W x H image 90 degrees
// clockwise sends the landmark (x, y) to (H-y, x); boxes are inclusive
// pixel indices, whose centre ((x1+x2)/2, (y1+y2)/2) goes to
// (H-1-(y1+y2)/2, (x1+x2)/2). Landmarks map back exactly. A box maps back
// as the axis-aligned box of the same size around its mapped centre, its
// sides swapped for turns nearer to 90 or 270 degrees; for right angles
// that is the exact image of the box.
//
// Detect with no angles, or only 0, calls the detector once on the image
// itself and returns its faces unchanged: the default stays bit-exact.
// The functions keep no state and are safe for concurrent use when the
// detector is.
package orient

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/bilinear"
	"github.com/mtcnn-go/mtcnn/nms"
)

// Detector finds faces in an image; *cascade.Detector satisfies it.
type Detector interface {
	DetectStats(ctx context.Context, img image.Image, opts cascade.Options) ([]cascade.Face, cascade.Stats, error)
}

// ErrAngles reports an invalid rotation list or step.
var ErrAngles = errors.New("orient: invalid rotations")

// MaxAngles bounds the rotations of one sweep (a step of 5 degrees), and
// so its cost: each rotation is one detection.
const MaxAngles = 72

// MergeIoU is the intersection over union above which two faces found in
// different rotations are taken for the same face; the better-scoring
// one is kept.
const MergeIoU = 0.4

// Auto is the sweep "auto" stands for: the four right angles.
var Auto = []float64{0, 90, 180, 270}

// ParseAngles reads "auto" (Auto), "none" or "" (no sweep: nil), or a
// comma-separated list of degrees such as "0,90,180,270". Angles are
// normalised to [0, 360) and deduplicated, in the order given.
func ParseAngles(s string) ([]float64, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "none":
		return nil, nil
	case "auto":
		return slices.Clone(Auto), nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: %q is not a number of degrees", ErrAngles, f)
		}
		out = append(out, v)
	}
	return Normalize(out)
}

// Step returns the sweep 0, step, 2*step, ... below 360 degrees. step
// must be in [5, 360].
func Step(step float64) ([]float64, error) {
	if !(step >= 360.0/MaxAngles && step <= 360) {
		return nil, fmt.Errorf("%w: step %g is outside [%g, 360] degrees", ErrAngles, step, 360.0/MaxAngles)
	}
	var out []float64
	for a := 0.0; a < 360-1e-9; a += step {
		out = append(out, a)
	}
	return out, nil
}

// Normalize maps angles to [0, 360), drops repeats and checks the count.
func Normalize(angles []float64) ([]float64, error) {
	var out []float64
	for _, a := range angles {
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return nil, fmt.Errorf("%w: angle %v", ErrAngles, a)
		}
		a = math.Mod(a, 360)
		if a < 0 {
			a += 360
		}
		if a >= 360 { // -1e-20 mod 360 + 360
			a = 0
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) > MaxAngles {
		return nil, fmt.Errorf("%w: %d rotations, at most %d", ErrAngles, len(out), MaxAngles)
	}
	return out, nil
}

// Detect finds the faces of img at each rotation in angles (degrees
// clockwise) and returns them in the original's coordinates, merged across
// rotations, best score first, with each face's rotation. The statistics
// add up all detections. With angles nil, empty or just 0 it is exactly
// det.DetectStats on img (rotations all 0). The context is checked
// between rotations.
func Detect(ctx context.Context, det Detector, img image.Image, opts cascade.Options, angles []float64) ([]cascade.Face, []float64, cascade.Stats, error) {
	angles, err := Normalize(angles)
	if err != nil {
		return nil, nil, cascade.Stats{}, err
	}
	if len(angles) == 0 || (len(angles) == 1 && angles[0] == 0) {
		faces, st, err := det.DetectStats(ctx, img, opts)
		return faces, make([]float64, len(faces)), st, err
	}
	var all []cascade.Face
	var rots []float64
	var total cascade.Stats
	src := toNRGBA(img)
	for _, a := range angles {
		if err := ctx.Err(); err != nil {
			return nil, nil, total, err
		}
		t := newTurn(src.Rect.Dx(), src.Rect.Dy(), a)
		var rotated image.Image = img // 0: the image itself, as without a sweep
		if a != 0 {
			rotated = t.apply(src)
		}
		faces, st, err := det.DetectStats(ctx, rotated, opts)
		for k := range 3 {
			total.Stage[k] += st.Stage[k]
			total.Candidates[k] += st.Candidates[k]
		}
		if err != nil {
			return nil, nil, total, fmt.Errorf("orient: rotation %g: %w", a, err)
		}
		for _, f := range faces {
			all = append(all, t.back(f))
			rots = append(rots, a)
		}
	}
	boxes := make([]nms.Box, len(all))
	scores := make([]float32, len(all))
	for i, f := range all {
		boxes[i] = nms.Box{f.Box[1], f.Box[0], f.Box[3], f.Box[2]}
		scores[i] = f.Score
	}
	keep := nms.Suppress(boxes, scores, MergeIoU, len(all))
	faces := make([]cascade.Face, len(keep))
	rot := make([]float64, len(keep))
	for i, k := range keep {
		faces[i], rot[i] = all[k], rots[k]
	}
	return faces, rot, total, nil
}

// turn is a clockwise rotation of a w x h image by deg degrees onto a
// dw x dh canvas: p' = R(p - c) + c' with centres c and c'.
type turn struct {
	deg            float64
	w, h, dw, dh   int
	cos, sin       float64
	cx, cy, dx, dy float64
	quarter        int // 0-3 for right angles, -1 otherwise
}

func newTurn(w, h int, deg float64) turn {
	t := turn{deg: deg, w: w, h: h, quarter: -1}
	switch deg {
	case 0, 90, 180, 270:
		t.quarter = int(deg) / 90
		t.cos = [4]float64{1, 0, -1, 0}[t.quarter]
		t.sin = [4]float64{0, 1, 0, -1}[t.quarter]
	default:
		r := deg * math.Pi / 180
		t.cos, t.sin = math.Cos(r), math.Sin(r)
	}
	if t.quarter >= 0 {
		t.dw, t.dh = w, h
		if t.quarter%2 == 1 {
			t.dw, t.dh = h, w
		}
	} else {
		ac, as := math.Abs(t.cos), math.Abs(t.sin)
		t.dw = int(math.Ceil(float64(w)*ac + float64(h)*as - 1e-9))
		t.dh = int(math.Ceil(float64(w)*as + float64(h)*ac - 1e-9))
	}
	t.cx, t.cy = float64(w-1)/2, float64(h-1)/2
	t.dx, t.dy = float64(t.dw-1)/2, float64(t.dh-1)/2
	return t
}

// forward maps a point of the original onto the turned canvas.
func (t turn) forward(x, y float64) (float64, float64) {
	x, y = x-t.cx, y-t.cy
	return t.cos*x - t.sin*y + t.dx, t.sin*x + t.cos*y + t.dy
}

// inverse maps a point of the turned canvas back onto the original.
func (t turn) inverse(x, y float64) (float64, float64) {
	x, y = x-t.dx, y-t.dy
	return t.cos*x + t.sin*y + t.cx, -t.sin*x + t.cos*y + t.cy
}

// back maps a face found on the turned canvas onto the original.
func (t turn) back(f cascade.Face) cascade.Face {
	for i, p := range f.Landmarks {
		x, y := t.inverse(float64(p[0])-0.5, float64(p[1])-0.5)
		f.Landmarks[i] = [2]float32{float32(x + 0.5), float32(y + 0.5)}
	}
	bw, bh := float64(f.Box[2]-f.Box[0]), float64(f.Box[3]-f.Box[1])
	cx, cy := t.inverse((float64(f.Box[0])+float64(f.Box[2]))/2, (float64(f.Box[1])+float64(f.Box[3]))/2)
	// Sides swap when the turn is nearer to 90 or 270 than to 0 or 180.
	if math.Abs(t.sin) > math.Abs(t.cos) {
		bw, bh = bh, bw
	}
	f.Box = [4]float32{float32(cx - bw/2), float32(cy - bh/2), float32(cx + bw/2), float32(cy + bh/2)}
	return f
}

// apply returns the turned copy of src (whose bounds start at 0, 0).
func (t turn) apply(src *image.NRGBA) *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, t.dw, t.dh))
	if t.quarter >= 0 {
		// An exact permutation: destination pixel (i, j) takes the source
		// pixel at inverse(i, j), which is integral.
		for j := 0; j < t.dh; j++ {
			row := dst.Pix[j*dst.Stride:]
			for i := 0; i < t.dw; i++ {
				var sx, sy int
				switch t.quarter {
				case 0:
					sx, sy = i, j
				case 1:
					sx, sy = j, t.h-1-i
				case 2:
					sx, sy = t.w-1-i, t.h-1-j
				case 3:
					sx, sy = t.w-1-j, i
				}
				copy(row[4*i:4*i+4], src.Pix[sy*src.Stride+4*sx:])
			}
		}
		return dst
	}
	img := bilinear.Image{Pix: src.Pix, Stride: src.Stride, BPP: 4, W: t.w, H: t.h}
	for j := 0; j < t.dh; j++ {
		row := dst.Pix[j*dst.Stride:]
		for i := 0; i < t.dw; i++ {
			o := row[4*i : 4*i+4]
			o[3] = 255
			if c, ok := img.At(t.inverse(float64(i), float64(j))); ok {
				copy(o, c[:])
			}
		}
	}
	return dst
}

// Rotate returns img turned deg degrees clockwise as Detect turns it: an
// exact pixel permutation for right angles, else bilinear onto a canvas
// holding the whole turned image. The result's bounds start at 0, 0.
func Rotate(img image.Image, deg float64) (*image.NRGBA, error) {
	a, err := Normalize([]float64{deg})
	if err != nil {
		return nil, err
	}
	src := toNRGBA(img)
	return newTurn(src.Rect.Dx(), src.Rect.Dy(), a[0]).apply(src), nil
}

// MapPoint maps the landmark (x, y) of a w x h image to its place in the
// image turned deg degrees clockwise by Rotate (see the package doc for
// the convention).
func MapPoint(x, y float64, w, h int, deg float64) (float64, float64) {
	a, err := Normalize([]float64{deg})
	if err != nil {
		return math.NaN(), math.NaN()
	}
	x, y = newTurn(w, h, a[0]).forward(x-0.5, y-0.5)
	return x + 0.5, y + 0.5
}

// toNRGBA returns img's pixels (stored colour, as the detector reads it)
// as an *image.NRGBA whose bounds start at 0, 0.
func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	if m, ok := img.(*image.NRGBA); ok && b.Min == (image.Point{}) {
		return m
	}
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch m := img.(type) {
	case *image.RGBA:
		// Stored colour, not un-premultiplied: the detector ignores alpha.
		for y := 0; y < b.Dy(); y++ {
			copy(dst.Pix[y*dst.Stride:y*dst.Stride+4*b.Dx()], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	default:
		draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	}
	return dst
}
