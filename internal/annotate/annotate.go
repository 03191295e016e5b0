// Package annotate draws face detections onto a copy of an image: each
// box outlined in green, as the original MTCNN service drew it, and each
// of the five landmarks as a small filled red dot. The original drew no
// landmarks; red keeps them apart from the boxes.
package annotate

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// Draw returns a copy of img as an *image.NRGBA with the same bounds, its
// pixels converted as color.NRGBAModel converts them, with every face's
// box outlined in green (color.NRGBA{0, 255, 0, 255}) and its five
// landmarks drawn as filled red dots (color.NRGBA{255, 0, 0, 255}).
//
// Face coordinates are pixels from the top-left corner of img, as the
// detector reports them. A box covers the pixels from (x1, y1) up to but
// not including (x2, y2), corners rounded to the nearest pixel, and its
// outline lies inside it, max(2, round(min(W, H)/300)) pixels wide so that
// it stays visible on large images. A landmark dot is centred on the pixel
// holding the point, with a radius one pixel more than the line width.
// Whatever falls outside img is clipped; a box or landmark with a NaN or
// infinite coordinate is skipped.
func Draw(img image.Image, faces []cascade.Face) *image.NRGBA {
	dst := copyNRGBA(img)
	b := dst.Rect
	lw := lineWidth(b)
	green := color.NRGBA{R: 0, G: 255, B: 0, A: 255}
	red := color.NRGBA{R: 255, G: 0, B: 0, A: 255}
	for i := range faces {
		if r, ok := boxRect(faces[i].Box, b, lw); ok {
			strokeRect(dst, r, lw, green)
		}
	}
	// Dots go on top of all boxes so that a neighbour's outline never
	// hides a landmark.
	for i := range faces {
		for _, p := range faces[i].Landmarks {
			dot(dst, p, lw+1, red)
		}
	}
	return dst
}

// lineWidth scales the stroke with the image so that it reads the same
// at thumbnail and at full-photo size.
func lineWidth(b image.Rectangle) int {
	return max(2, int(math.Round(float64(min(b.Dx(), b.Dy()))/300)))
}

// boxRect converts a box to a pixel rectangle in b's coordinates. Corners
// are clamped to just beyond b first, which keeps the float to int
// conversion defined for huge values and leaves the clipped outline
// unchanged, since a stroke starting that far out cannot reach b.
func boxRect(box [4]float32, b image.Rectangle, lw int) (image.Rectangle, bool) {
	var c [4]int
	for i, v := range box {
		lo, hi := b.Min.X, b.Max.X
		if i%2 == 1 {
			lo, hi = b.Min.Y, b.Max.Y
		}
		var ok bool
		if c[i], ok = pixel(v, lo, hi, lw+1); !ok {
			return image.Rectangle{}, false
		}
	}
	// image.Rect swaps inverted corners.
	return image.Rect(c[0], c[1], c[2], c[3]), true
}

// pixel rounds a coordinate given from origin lo to an absolute pixel
// position clamped to [lo-margin, hi+margin]; ok is false for NaN or Inf.
func pixel(v float32, lo, hi, margin int) (int, bool) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	f = math.Round(f) + float64(lo)
	f = math.Max(f, float64(lo-margin))
	f = math.Min(f, float64(hi+margin))
	return int(f), true
}

// strokeRect fills the band of width lw just inside r, clipped to dst.
func strokeRect(dst *image.NRGBA, r image.Rectangle, lw int, c color.NRGBA) {
	top := min(r.Min.Y+lw, r.Max.Y)
	bottom := max(r.Max.Y-lw, r.Min.Y)
	left := min(r.Min.X+lw, r.Max.X)
	right := max(r.Max.X-lw, r.Min.X)
	fill(dst, image.Rect(r.Min.X, r.Min.Y, r.Max.X, top), c)
	fill(dst, image.Rect(r.Min.X, bottom, r.Max.X, r.Max.Y), c)
	fill(dst, image.Rect(r.Min.X, top, left, bottom), c)
	fill(dst, image.Rect(right, top, r.Max.X, bottom), c)
}

// fill paints r ∩ dst's bounds with c.
func fill(dst *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	r = r.Intersect(dst.Rect)
	if r.Empty() {
		return
	}
	px := [4]uint8{c.R, c.G, c.B, c.A}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := dst.PixOffset(r.Min.X, y)
		row := dst.Pix[i : i+4*r.Dx()]
		for j := 0; j < len(row); j += 4 {
			copy(row[j:j+4], px[:])
		}
	}
}

// dot paints a filled disc of the given radius around the pixel holding
// p, clipped to dst.
func dot(dst *image.NRGBA, p [2]float32, radius int, c color.NRGBA) {
	b := dst.Rect
	fx, fy := float64(p[0]), float64(p[1])
	if math.IsNaN(fx) || math.IsNaN(fy) || math.IsInf(fx, 0) || math.IsInf(fy, 0) {
		return
	}
	fx, fy = math.Floor(fx)+float64(b.Min.X), math.Floor(fy)+float64(b.Min.Y)
	// Testing in float first keeps int conversion defined for huge values.
	if fx < float64(b.Min.X-radius) || fx >= float64(b.Max.X+radius) ||
		fy < float64(b.Min.Y-radius) || fy >= float64(b.Max.Y+radius) {
		return
	}
	cx, cy := int(fx), int(fy)
	for dy := -radius; dy <= radius; dy++ {
		// Half-width of the disc's row: the largest dx with dx²+dy² <= r².
		dx := int(math.Sqrt(float64(radius*radius - dy*dy)))
		fill(dst, image.Rect(cx-dx, cy+dy, cx+dx+1, cy+dy+1), c)
	}
}

// copyNRGBA converts img to a new *image.NRGBA with the same bounds,
// each pixel as color.NRGBAModel would convert it, without a per-pixel
// interface call for the types decoders produce.
func copyNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	dst := image.NewNRGBA(b)
	switch src := img.(type) {
	case *image.NRGBA:
		draw.Draw(dst, b, src, b.Min, draw.Src)
	case *image.YCbCr, *image.Gray, *image.CMYK:
		// These are opaque, so their premultiplied RGBA bytes are also
		// their NRGBA bytes: drawing into an RGBA view of dst's pixels
		// uses image/draw's fast paths, which have none for NRGBA targets.
		view := &image.RGBA{Pix: dst.Pix, Stride: dst.Stride, Rect: dst.Rect}
		draw.Draw(view, b, src, b.Min, draw.Src)
	case *image.Paletted:
		copyPaletted(dst, src)
	case image.RGBA64Image:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := dst.Pix[dst.PixOffset(b.Min.X, y):]
			for x := b.Min.X; x < b.Max.X; x++ {
				c := src.RGBA64At(x, y)
				setNRGBA(row[4*(x-b.Min.X):], uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A))
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := dst.Pix[dst.PixOffset(b.Min.X, y):]
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, a := src.At(x, y).RGBA()
				setNRGBA(row[4*(x-b.Min.X):], r, g, bl, a)
			}
		}
	}
	return dst
}

// copyPaletted converts the palette once instead of every pixel. An index
// past the palette's end, which Paletted.At would panic on, becomes
// transparent black.
func copyPaletted(dst *image.NRGBA, src *image.Paletted) {
	var pal [256][4]uint8
	for i, c := range src.Palette {
		if i == len(pal) {
			break
		}
		if c == nil {
			continue
		}
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		pal[i] = [4]uint8{n.R, n.G, n.B, n.A}
	}
	b := dst.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := dst.Pix[dst.PixOffset(b.Min.X, y):]
		s := src.Pix[src.PixOffset(b.Min.X, y):]
		for x := range b.Dx() {
			copy(row[4*x:4*x+4], pal[s[x]][:])
		}
	}
}

// setNRGBA stores a premultiplied 16-bit colour into p[0:4] exactly as
// color.NRGBAModel converts it.
func setNRGBA(p []uint8, r, g, b, a uint32) {
	switch a {
	case 0xFFFF:
	case 0:
		r, g, b = 0, 0, 0
	default:
		r = r * 0xFFFF / a
		g = g * 0xFFFF / a
		b = b * 0xFFFF / a
	}
	p[0], p[1], p[2], p[3] = uint8(r>>8), uint8(g>>8), uint8(b>>8), uint8(a>>8)
}
