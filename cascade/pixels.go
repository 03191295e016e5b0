package cascade

import (
	"image"
	"image/color"

	"github.com/mtcnn-go/mtcnn/internal/parallel"
)

// bgrImage holds an image's pixels as the reference reads them: 8-bit
// B, G, R, row-major, alpha dropped.
type bgrImage struct {
	w, h int
	pix  []uint8
}

// toBGR converts img to BGR bytes. Every pixel's stored, non-premultiplied
// colour is used and alpha is ignored (not composited onto any background),
// which is what the reference service and OpenCV's imread did: a fully
// transparent pixel stored as RGB 0 reads as black, one stored with colour
// keeps its colour. Premultiplied images (*image.RGBA and the generic path)
// are un-premultiplied first, so they read as their NRGBA equivalents. Gray
// images give the same value in all three channels; 16-bit images use the
// high byte, as color.NRGBAModel does.
//
// The pixels go into buf when it is large enough.
func toBGR(img image.Image, buf []uint8) bgrImage {
	r := img.Bounds()
	out := bgrImage{w: r.Dx(), h: r.Dy()}
	if n := out.w * out.h * 3; cap(buf) >= n {
		out.pix = buf[:n]
	} else {
		out.pix = make([]uint8, n)
	}
	if streamable(img) {
		bgrLoops.Run(out.h, 16, out.w*out.h*4, bgrRows{img: img, r: r, out: out})
		return out
	}
	// Any other image.Image: read in order on this goroutine, as its At
	// may not be safe for concurrent use.
	dst := out.pix
	for y := 0; y < out.h; y++ {
		row := dst[y*out.w*3:]
		for x := 0; x < out.w; x++ {
			c := color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
			row[3*x], row[3*x+1], row[3*x+2] = c.B, c.G, c.R
		}
	}
	return out
}

// bgrRows converts rows of the standard library's image types, whose
// pixels may be read concurrently: the body of toBGR's parallel loop.
type bgrRows struct {
	img image.Image
	r   image.Rectangle
	out bgrImage
}

var bgrLoops parallel.Loops[bgrRows, *bgrRows]

func (j *bgrRows) Run(lo, hi int) {
	w := j.out.w
	for y := lo; y < hi; y++ {
		convertRow(j.img, j.r, y, j.out.pix[y*w*3:(y+1)*w*3])
	}
}

// streamable reports whether img is one of the types convertRow and
// gather read, whose pixels may be read concurrently.
func streamable(img image.Image) bool {
	switch img.(type) {
	case *image.YCbCr, *image.NRGBA, *image.Gray, *image.RGBA:
		return true
	}
	return false
}

// convertRow writes row y (relative to r.Min) of img, a streamable image,
// as BGR bytes into dst, len(dst)/3 pixels from r.Min.X on.
func convertRow(img image.Image, r image.Rectangle, y int, dst []uint8) {
	n := len(dst) / 3
	switch m := img.(type) {
	case *image.YCbCr:
		x0, yy := r.Min.X, r.Min.Y+y
		ys := m.Y[m.YOffset(x0, yy):][:n]
		ci := m.COffset(x0, yy)
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440:
			// One chroma sample per column.
			cbs, crs := m.Cb[ci:ci+n], m.Cr[ci:ci+n]
			for x, yv := range ys {
				o := dst[3*x : 3*x+3]
				yy1, cb1, cr1 := int32(yv)*0x10101, int32(cbs[x])-128, int32(crs[x])-128
				o[0], o[1], o[2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
			}
		case image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422:
			// Column X's chroma is at base + X/2, as COffset computes it:
			// columns 2k and 2k+1 share one, so its terms are computed
			// once per pair (the sums are the same int32 values). Left of
			// x = 0, X/2 truncating towards zero pairs columns
			// differently: those rare images take the plain loop.
			base := ci - x0/2
			if x0 < 0 {
				for x, yv := range ys {
					c := base + (x0+x)/2
					yy1, cb1, cr1 := int32(yv)*0x10101, int32(m.Cb[c])-128, int32(m.Cr[c])-128
					dst[3*x], dst[3*x+1], dst[3*x+2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
				}
				break
			}
			x := 0
			if x0&1 != 0 && n > 0 {
				// The first column is the second of its pair.
				c := base + x0/2
				yy1, cb1, cr1 := int32(ys[0])*0x10101, int32(m.Cb[c])-128, int32(m.Cr[c])-128
				dst[0], dst[1], dst[2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
				x = 1
			}
			c := base + (x0+x)/2
			pairs := (n - x) / 2
			cbs, crs := m.Cb[c:c+pairs], m.Cr[c:c+pairs]
			yp, dp := ys[x:x+2*pairs], dst[3*x:3*x+6*pairs]
			for k := range cbs {
				cb1, cr1 := int32(cbs[k])-128, int32(crs[k])-128
				bt, gt, rt := 116130*cb1, -22554*cb1-46802*cr1, 91881*cr1
				y2, o := yp[2*k:2*k+2], dp[6*k:6*k+6]
				ya, yb := int32(y2[0])*0x10101, int32(y2[1])*0x10101
				o[0], o[1], o[2] = clamp16(ya+bt), clamp16(ya+gt), clamp16(ya+rt)
				o[3], o[4], o[5] = clamp16(yb+bt), clamp16(yb+gt), clamp16(yb+rt)
			}
			if x += 2 * pairs; x < n {
				// The last column, first of a pair cut by the edge.
				c := base + (x0+x)/2
				yy1, cb1, cr1 := int32(ys[x])*0x10101, int32(m.Cb[c])-128, int32(m.Cr[c])-128
				dst[3*x], dst[3*x+1], dst[3*x+2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
			}
		default:
			for x, yv := range ys {
				c := m.COffset(x0+x, yy)
				yy1, cb1, cr1 := int32(yv)*0x10101, int32(m.Cb[c])-128, int32(m.Cr[c])-128
				dst[3*x], dst[3*x+1], dst[3*x+2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
			}
		}
	case *image.NRGBA:
		rgbaRowToBGR(dst, m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):], n, false)
	case *image.Gray:
		src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
		for x := 0; x < n; x++ {
			v := src[x]
			dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
		}
	case *image.RGBA:
		rgbaRowToBGR(dst, m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):], n, true)
	}
}

// rgbaRowToBGRGeneric writes the n RGBA (or NRGBA) pixels of src as BGR
// bytes into dst; premultiplied pixels (premul, *image.RGBA) that are not
// opaque are un-premultiplied. It is the specification of
// rgbaRowToBGR's vector versions.
func rgbaRowToBGRGeneric(dst, src []uint8, n int, premul bool) {
	dst, src = dst[:3*n], src[:4*n]
	for x := 0; x < n; x++ {
		p := src[4*x : 4*x+4]
		if a := p[3]; premul && a != 0xff {
			dst[3*x], dst[3*x+1], dst[3*x+2] = unpremultiply(p[2], a), unpremultiply(p[1], a), unpremultiply(p[0], a)
			continue
		}
		dst[3*x], dst[3*x+1], dst[3*x+2] = p[2], p[1], p[0]
	}
}

// gather writes the pixels (xs[i], y) (relative to r.Min) of img, a
// streamable image, as BGR bytes into dst[3*i:3*i+3]: the values
// convertRow gives them.
func gather(img image.Image, r image.Rectangle, y int, xs []int, dst []uint8) {
	dst = dst[:3*len(xs)]
	switch m := img.(type) {
	case *image.YCbCr:
		x0, yy := r.Min.X, r.Min.Y+y
		ys := m.Y[m.YOffset(x0, yy):]
		ci := m.COffset(x0, yy)
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440:
			cbs, crs := m.Cb[ci:], m.Cr[ci:]
			for i, x := range xs {
				yy1, cb1, cr1 := int32(ys[x])*0x10101, int32(cbs[x])-128, int32(crs[x])-128
				dst[3*i], dst[3*i+1], dst[3*i+2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
			}
		case image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422:
			base := ci - x0/2
			for i, x := range xs {
				c := base + (x0+x)/2
				yy1, cb1, cr1 := int32(ys[x])*0x10101, int32(m.Cb[c])-128, int32(m.Cr[c])-128
				dst[3*i], dst[3*i+1], dst[3*i+2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
			}
		default:
			for i, x := range xs {
				c := m.COffset(x0+x, yy)
				yy1, cb1, cr1 := int32(ys[x])*0x10101, int32(m.Cb[c])-128, int32(m.Cr[c])-128
				dst[3*i], dst[3*i+1], dst[3*i+2] = clamp16(yy1+116130*cb1), clamp16(yy1-22554*cb1-46802*cr1), clamp16(yy1+91881*cr1)
			}
		}
	case *image.NRGBA:
		src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
		for i, x := range xs {
			p := src[4*x : 4*x+3]
			dst[3*i], dst[3*i+1], dst[3*i+2] = p[2], p[1], p[0]
		}
	case *image.Gray:
		src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
		for i, x := range xs {
			v := src[x]
			dst[3*i], dst[3*i+1], dst[3*i+2] = v, v, v
		}
	case *image.RGBA:
		src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
		for i, x := range xs {
			p := src[4*x : 4*x+4]
			if a := p[3]; a != 0xff {
				dst[3*i], dst[3*i+1], dst[3*i+2] = unpremultiply(p[2], a), unpremultiply(p[1], a), unpremultiply(p[0], a)
				continue
			}
			dst[3*i], dst[3*i+1], dst[3*i+2] = p[2], p[1], p[0]
		}
	}
}

// clamp16 returns v >> 16 clamped to [0, 255], as color.YCbCrToRGB
// computes each channel. The YCbCr loops above write out the rest of
// YCbCrToRGB's arithmetic so that it is inlined (TestConvertYCbCr checks
// them against it on every input).
func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

// source is what the cascade reads pixels from: a BGR copy of the image
// (small images, and types that are not streamable), or the decoded image
// itself, from which rows and pixels are converted as they are needed.
// Both give every pixel the value toBGR gives it.
type source struct {
	w, h int
	bgr  []uint8 // the BGR copy, row-major; nil: read img
	img  image.Image
	r    image.Rectangle
}

// newSource returns the source for img: a BGR copy in buf (reallocated
// if too small) when img is small or not streamable, else img itself.
func newSource(img image.Image, buf []uint8) source {
	r := img.Bounds()
	if streamable(img) && int64(r.Dx())*int64(r.Dy()) > copyMax {
		return source{w: r.Dx(), h: r.Dy(), img: img, r: r}
	}
	c := toBGR(img, buf)
	return source{w: c.w, h: c.h, bgr: c.pix}
}

// copyMax is copyMaxPixels, a variable so that tests can make every
// image read as a large one.
var copyMax int64 = copyMaxPixels

// row returns the BGR bytes of row y: a slice of the copy, or converted
// into buf (3*s.w bytes).
func (s *source) row(y int, buf []uint8) []uint8 {
	if s.bgr != nil {
		return s.bgr[y*s.w*3 : (y+1)*s.w*3]
	}
	convertRow(s.img, s.r, y, buf[:3*s.w])
	return buf[:3*s.w]
}

// gather writes the BGR bytes of pixels (xs[i], y) into dst[3*i:].
func (s *source) gather(y int, xs []int, dst []uint8) {
	if s.bgr != nil {
		row := s.bgr[y*s.w*3:]
		for i, x := range xs {
			copy(dst[3*i:3*i+3], row[3*x:3*x+3])
		}
		return
	}
	gather(s.img, s.r, y, xs, dst)
}

// unpremultiply returns the 8-bit channel value v of a premultiplied
// colour with alpha a, un-premultiplied as color.NRGBAModel does it (via
// 16 bits) but without boxing a color.Color per pixel.
func unpremultiply(v, a uint8) uint8 {
	switch a {
	case 0xff:
		return v
	case 0:
		return 0
	}
	return uint8(uint32(v) * 0x101 * 0xffff / (uint32(a) * 0x101) >> 8)
}

// normalised maps a byte to (v - 127.5) / 128 in float32, the graph's
// input normalisation; both steps are exact in float32.
var normalised = func() (t [256]float32) {
	for i := range t {
		t[i] = (float32(i) - 127.5) / 128
	}
	return t
}()
