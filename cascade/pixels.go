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
	switch img.(type) {
	case *image.YCbCr, *image.NRGBA, *image.Gray, *image.RGBA:
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
	r, out, dst := j.r, j.out, j.out.pix
	switch m := j.img.(type) {
	case *image.YCbCr:
		for y := lo; y < hi; y++ {
			row := dst[y*out.w*3:]
			for x := 0; x < out.w; x++ {
				yi := m.YOffset(r.Min.X+x, r.Min.Y+y)
				ci := m.COffset(r.Min.X+x, r.Min.Y+y)
				cr, cg, cb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				row[3*x], row[3*x+1], row[3*x+2] = cb, cg, cr
			}
		}
	case *image.NRGBA:
		for y := lo; y < hi; y++ {
			src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			row := dst[y*out.w*3:]
			for x := 0; x < out.w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = src[4*x+2], src[4*x+1], src[4*x]
			}
		}
	case *image.Gray:
		for y := lo; y < hi; y++ {
			src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			row := dst[y*out.w*3:]
			for x := 0; x < out.w; x++ {
				v := src[x]
				row[3*x], row[3*x+1], row[3*x+2] = v, v, v
			}
		}
	case *image.RGBA:
		for y := lo; y < hi; y++ {
			src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			row := dst[y*out.w*3:]
			for x := 0; x < out.w; x++ {
				p := src[4*x : 4*x+4]
				if p[3] == 0xff {
					row[3*x], row[3*x+1], row[3*x+2] = p[2], p[1], p[0]
					continue
				}
				a := p[3]
				row[3*x], row[3*x+1], row[3*x+2] = unpremultiply(p[2], a), unpremultiply(p[1], a), unpremultiply(p[0], a)
			}
		}
	}
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
