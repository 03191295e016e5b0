// Package align cuts face crops out of an image, either aligned (the
// least-squares similarity that maps a face's five landmarks onto a
// template, as recognition models such as ArcFace expect their input) or
// as facenet-pytorch's extract_face cuts them (the box grown by a margin,
// resized to a square).
//
// Aligned crops are specified exactly: the transform is Umeyama's
// least-squares similarity (rotation, uniform scale and translation, no
// reflection) from the five landmarks onto the template, and each output
// pixel (u, v) takes the bilinear interpolation of the source at the
// inverse transform of (u, v), pixel centres at integer coordinates as
// OpenCV's warpAffine with INTER_LINEAR samples them; source pixels
// outside the image count as black.
//
// The functions keep no state and are safe for concurrent use.
package align

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/bilinear"
)

// Mode is the kind of crop.
type Mode int

const (
	// ArcFace aligns the five landmarks onto the ArcFace/InsightFace
	// template (ArcFaceTemplate, scaled by Size/112). It is the zero
	// value.
	ArcFace Mode = iota
	// Box cuts the face box grown by Margin, clipped to the image, and
	// resizes it to Size x Size with a bilinear (triangle) filter widened
	// when shrinking, as facenet-pytorch's extract_face does with PIL.
	Box
)

// String returns the mode's name as ParseMode accepts it.
func (m Mode) String() string {
	switch m {
	case ArcFace:
		return "arcface"
	case Box:
		return "box"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ErrOptions reports invalid options.
var ErrOptions = errors.New("align: invalid options")

// ParseMode returns the mode named s: "arcface" or "box".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "arcface":
		return ArcFace, nil
	case "box":
		return Box, nil
	}
	return 0, fmt.Errorf("%w: unknown crop mode %q (want arcface or box)", ErrOptions, s)
}

// Crop sizes: DefaultSize is used when Options.Size is zero; others must
// lie in [MinSize, MaxSize].
const (
	DefaultSize = 112
	MinSize     = 16
	MaxSize     = 1024
)

// ArcFaceTemplate is the five-point template of ArcFace/InsightFace for a
// 112 x 112 crop: left eye, right eye, nose, left and right mouth
// corners, x and y in pixels.
var ArcFaceTemplate = [5][2]float64{
	{38.2946, 51.6963},
	{73.5318, 51.5014},
	{56.0252, 71.7366},
	{41.5493, 92.3655},
	{70.7299, 92.2041},
}

// Options control a crop. The zero value means an ArcFace crop of 112 x
// 112 pixels (and, for Box, no margin).
type Options struct {
	// Mode is the kind of crop; the zero value is ArcFace.
	Mode Mode
	// Size is the crop's side in pixels, in [16, 1024]; 0 means 112.
	Size int
	// Margin (Box only) grows the box by this many pixels of the output
	// scale: margin*(x2-x1)/(Size-margin) source pixels across, half on
	// each side (and likewise vertically), as facenet-pytorch. It must be
	// in [0, Size).
	Margin float64
}

// DefaultOptions returns the options the zero value stands for.
func DefaultOptions() Options { return Options{Mode: ArcFace, Size: DefaultSize} }

// Validate reports options out of range, wrapping ErrOptions.
func (o Options) Validate() error {
	size := o.size()
	switch {
	case o.Mode != ArcFace && o.Mode != Box:
		return fmt.Errorf("%w: unknown crop mode %d", ErrOptions, int(o.Mode))
	case size < MinSize || size > MaxSize:
		return fmt.Errorf("%w: crop size %d is outside [%d, %d]", ErrOptions, o.Size, MinSize, MaxSize)
	case !(o.Margin >= 0 && o.Margin < float64(size)):
		return fmt.Errorf("%w: crop margin %g is outside [0, %d)", ErrOptions, o.Margin, size)
	}
	return nil
}

func (o Options) size() int {
	if o.Size == 0 {
		return DefaultSize
	}
	return o.Size
}

// Template returns ArcFaceTemplate scaled for a size x size crop.
func Template(size int) [5][2]float64 {
	t := ArcFaceTemplate
	s := float64(size) / 112
	for i := range t {
		t[i][0] *= s
		t[i][1] *= s
	}
	return t
}

// Affine is the map (x, y) -> (A*x + B*y + C, D*x + E*y + F).
type Affine struct{ A, B, C, D, E, F float64 }

// Apply maps the point (x, y).
func (m Affine) Apply(x, y float64) (float64, float64) {
	return m.A*x + m.B*y + m.C, m.D*x + m.E*y + m.F
}

// Invert returns the inverse map; ok is false when m is singular or not
// finite.
func (m Affine) Invert() (inv Affine, ok bool) {
	det := m.A*m.E - m.B*m.D
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return Affine{}, false
	}
	a, b, d, e := m.E/det, -m.B/det, -m.D/det, m.A/det
	return Affine{A: a, B: b, C: -(a*m.C + b*m.F), D: d, E: e, F: -(d*m.C + e*m.F)}, true
}

// Similarity returns the similarity transform (rotation, uniform scale
// and translation; no reflection) that maps the points src onto dst with
// the least sum of squared distances (Umeyama 1991; in two dimensions its
// rotation and scale have the closed form used here). ok is false when a
// point is not finite or the src points coincide.
func Similarity(src, dst [][2]float64) (m Affine, ok bool) {
	n := len(src)
	if n == 0 || n != len(dst) {
		return Affine{}, false
	}
	var msx, msy, mdx, mdy float64
	for i := range n {
		msx += src[i][0]
		msy += src[i][1]
		mdx += dst[i][0]
		mdy += dst[i][1]
	}
	fn := float64(n)
	msx, msy, mdx, mdy = msx/fn, msy/fn, mdx/fn, mdy/fn
	// With centred points s and d, the best rotation-and-scale [[p, -q],
	// [q, p]] has p = sum(s.d)/sum(|s|^2) and q = sum(s x d)/sum(|s|^2).
	var dot, cross, ss float64
	for i := range n {
		sx, sy := src[i][0]-msx, src[i][1]-msy
		dx, dy := dst[i][0]-mdx, dst[i][1]-mdy
		dot += sx*dx + sy*dy
		cross += sx*dy - sy*dx
		ss += sx*sx + sy*sy
	}
	if !(ss > 0) || math.IsInf(ss, 0) || math.IsNaN(dot) || math.IsNaN(cross) {
		return Affine{}, false
	}
	p, q := dot/ss, cross/ss
	m = Affine{A: p, B: -q, D: q, E: p}
	m.C = mdx - (p*msx - q*msy)
	m.F = mdy - (q*msx + p*msy)
	return m, true
}

// Transform returns the similarity that maps face's landmarks onto the
// template for a size x size ArcFace crop; ok is false when the landmarks
// are not finite or coincide.
func Transform(face cascade.Face, size int) (Affine, bool) {
	var src, dst [5][2]float64
	t := Template(size)
	for i, p := range face.Landmarks {
		src[i] = [2]float64{float64(p[0]), float64(p[1])}
		dst[i] = t[i]
	}
	return Similarity(src[:], dst[:])
}

// Crop returns face's crop from img, opaque, with the same colour as img
// stores it (alpha ignored, as the detector ignores it). Face coordinates
// are relative to img.Bounds().Min. A face whose landmarks (ArcFace) or
// box (Box) are not finite gets an all-black crop, and so does a box
// wholly outside the image; parts of an aligned crop that map outside
// the image are black. Only invalid options are errors.
func Crop(img image.Image, face cascade.Face, opts Options) (*image.NRGBA, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return crop(newSource(img), face, opts), nil
}

// Crops returns the crops of all faces, in order, reusing one buffer for
// the pixels each crop reads.
func Crops(img image.Image, faces []cascade.Face, opts Options) ([]*image.NRGBA, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	src := newSource(img)
	out := make([]*image.NRGBA, len(faces))
	for i, f := range faces {
		out[i] = crop(src, f, opts)
	}
	return out, nil
}

func crop(src *source, face cascade.Face, opts Options) *image.NRGBA {
	size := opts.size()
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	for i := 3; i < len(dst.Pix); i += 4 {
		dst.Pix[i] = 255
	}
	if opts.Mode == Box {
		src.boxCrop(dst, face.Box, opts.Margin)
		return dst
	}
	m, ok := Transform(face, size)
	if !ok {
		return dst
	}
	inv, ok := m.Invert()
	if !ok {
		return dst
	}
	src.warp(dst, inv)
	return dst
}

// Warp fills a w x h image with img sampled through the inverse map inv:
// output pixel (u, v) is the bilinear interpolation of img at inv(u, v),
// relative to img.Bounds().Min, pixel centres at integer coordinates,
// black outside img. w and h must be in [1, MaxSize].
func Warp(img image.Image, inv Affine, w, h int) (*image.NRGBA, error) {
	if w < 1 || h < 1 || w > MaxSize || h > MaxSize {
		return nil, fmt.Errorf("%w: warp size %dx%d is outside [1, %d]", ErrOptions, w, h, MaxSize)
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(dst.Pix); i += 4 {
		dst.Pix[i] = 255
	}
	newSource(img).warp(dst, inv)
	return dst, nil
}

// source is the colour of a rectangle of an image, as 8-bit RGB rows:
// pixel (x, y) of the image, relative to its bounds' top-left corner, is
// at pix[3*((y-oy)*w + x-ox)] when it lies in the rectangle. iw and ih are
// the whole image's size, which decides what is outside (black).
type source struct {
	img          image.Image
	iw, ih       int
	ox, oy, w, h int
	pix          []uint8
}

func newSource(img image.Image) *source {
	b := img.Bounds()
	return &source{img: img, iw: b.Dx(), ih: b.Dy()}
}

// load copies the colour of r (relative to the image's top-left corner,
// clipped to the image) into s, with fast paths for the decoders' types;
// alpha is ignored.
func (s *source) load(r image.Rectangle) {
	r = r.Intersect(image.Rect(0, 0, s.iw, s.ih))
	s.ox, s.oy, s.w, s.h = r.Min.X, r.Min.Y, r.Dx(), r.Dy()
	if n := 3 * s.w * s.h; cap(s.pix) >= n {
		s.pix = s.pix[:n]
	} else {
		s.pix = make([]uint8, n)
	}
	b := s.img.Bounds()
	r = r.Add(b.Min) // absolute
	i := 0
	switch m := s.img.(type) {
	case *image.NRGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):]
			for x := 0; x < s.w; x++ {
				copy(s.pix[i:i+3], row[4*x:4*x+3])
				i += 3
			}
		}
	case *image.RGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):]
			for x := 0; x < s.w; x++ {
				copy(s.pix[i:i+3], row[4*x:4*x+3])
				i += 3
			}
		}
	case *image.Gray:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):]
			for x := 0; x < s.w; x++ {
				v := row[x]
				s.pix[i], s.pix[i+1], s.pix[i+2] = v, v, v
				i += 3
			}
		}
	case *image.YCbCr:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := m.COffset(x, y)
				s.pix[i], s.pix[i+1], s.pix[i+2] = color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[c], m.Cr[c])
				i += 3
			}
		}
	default:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.NRGBAModel.Convert(s.img.At(x, y)).(color.NRGBA)
				s.pix[i], s.pix[i+1], s.pix[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	}
}

// warp fills dst (opaque, already black) through the inverse map inv.
func (s *source) warp(dst *image.NRGBA, inv Affine) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	// Only the pixels under the inverse-mapped output square are read.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{0, 0}, {float64(w - 1), 0}, {0, float64(h - 1)}, {float64(w - 1), float64(h - 1)}} {
		x, y := inv.Apply(c[0], c[1])
		minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
	}
	lim := func(v float64) int { return int(max(-1, min(v, float64(max(s.iw, s.ih))+1))) }
	s.load(image.Rect(lim(math.Floor(minX)), lim(math.Floor(minY)), lim(math.Floor(maxX))+2, lim(math.Floor(maxY))+2))
	src := bilinear.Image{Pix: s.pix, Stride: 3 * s.w, BPP: 3, X0: s.ox, Y0: s.oy, W: s.iw, H: s.ih}
	for v := 0; v < h; v++ {
		row := dst.Pix[v*dst.Stride:]
		for u := 0; u < w; u++ {
			// Far outside (or NaN): left black.
			if c, ok := src.At(inv.Apply(float64(u), float64(v))); ok {
				copy(row[4*u:4*u+3], c[:])
			}
		}
	}
}

// BoxRect returns the source rectangle of a Box crop of face box b in an
// image of w x h pixels, as facenet-pytorch's extract_face computes it:
// each side grown by half of margin*(x2-x1)/(size-margin) (and likewise
// vertically), clipped to the image, truncated to integers. ok is false
// when the result is empty or b is not finite.
func BoxRect(b [4]float32, w, h, size int, margin float64) (r image.Rectangle, ok bool) {
	x1, y1, x2, y2 := float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])
	mx := margin * (x2 - x1) / (float64(size) - margin)
	my := margin * (y2 - y1) / (float64(size) - margin)
	c := [4]float64{max(x1-mx/2, 0), max(y1-my/2, 0), min(x2+mx/2, float64(w)), min(y2+my/2, float64(h))}
	for _, v := range c {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return image.Rectangle{}, false
		}
	}
	// Python's int() truncates; the clipping keeps every value in
	// [0, max(w, h)] except a box wholly outside, caught below.
	r = image.Rectangle{Min: image.Pt(int(c[0]), int(c[1])), Max: image.Pt(int(c[2]), int(c[3]))}
	if r.Min.X >= r.Max.X || r.Min.Y >= r.Max.Y || r.Min.X >= w || r.Min.Y >= h || r.Max.X <= 0 || r.Max.Y <= 0 {
		return image.Rectangle{}, false
	}
	return r, true
}

// boxCrop resizes the Box crop's source rectangle into dst.
func (s *source) boxCrop(dst *image.NRGBA, b [4]float32, margin float64) {
	size := dst.Rect.Dx()
	r, ok := BoxRect(b, s.iw, s.ih, size, margin)
	if !ok {
		return
	}
	s.load(r)
	// Horizontal pass into rows of size RGB samples, then vertical; each
	// pass rounds to 8 bits as PIL does for 8-bit images.
	cw, ch := r.Dx(), r.Dy()
	xs := filterWeights(cw, size)
	ys := filterWeights(ch, size)
	tmp := make([]uint8, 3*size*ch)
	for y := 0; y < ch; y++ {
		srow := s.pix[3*y*s.w:]
		for u := 0; u < size; u++ {
			var acc [3]float64
			for k, wt := range xs.w[u] {
				p := srow[3*(xs.start[u]+k):]
				acc[0] += wt * float64(p[0])
				acc[1] += wt * float64(p[1])
				acc[2] += wt * float64(p[2])
			}
			t := tmp[3*(y*size+u):]
			t[0], t[1], t[2] = bilinear.Round(acc[0]), bilinear.Round(acc[1]), bilinear.Round(acc[2])
		}
	}
	for v := 0; v < size; v++ {
		for u := 0; u < size; u++ {
			var acc [3]float64
			for k, wt := range ys.w[v] {
				p := tmp[3*((ys.start[v]+k)*size+u):]
				acc[0] += wt * float64(p[0])
				acc[1] += wt * float64(p[1])
				acc[2] += wt * float64(p[2])
			}
			o := dst.Pix[v*dst.Stride+4*u:]
			o[0], o[1], o[2] = bilinear.Round(acc[0]), bilinear.Round(acc[1]), bilinear.Round(acc[2])
		}
	}
}

// weights are one resampling pass's normalised filter taps: output i
// reads inputs start[i], start[i]+1, ... with weights w[i].
type weights struct {
	start []int
	w     [][]float64
}

// filterWeights computes PIL's bilinear resampling taps from in samples
// to out: the triangle filter of support 1, stretched by the scale when
// shrinking, centred on each output pixel's centre mapped back.
func filterWeights(in, out int) weights {
	scale := float64(in) / float64(out)
	fs := max(scale, 1)
	support := fs // the triangle's support (1) times the stretch
	ws := weights{start: make([]int, out), w: make([][]float64, out)}
	for i := range out {
		center := (float64(i) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		taps := make([]float64, 0, hi-lo)
		var sum float64
		for x := lo; x < hi; x++ {
			t := math.Abs((float64(x) - center + 0.5) / fs)
			wt := max(1-t, 0)
			taps = append(taps, wt)
			sum += wt
		}
		if sum > 0 {
			for k := range taps {
				taps[k] /= sum
			}
		}
		ws.start[i], ws.w[i] = lo, taps
	}
	return ws
}
