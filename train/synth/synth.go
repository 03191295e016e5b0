// Package synth makes synthetic training and test images for fine-tuning
// MTCNN from ordinary labelled photos: faces covered by a drawn face mask
// over the nose, mouth and chin, a case the original model often misses,
// and random rescaled crops. Everything is drawn at run time from the
// caller's photos, deterministically from a random source.
package synth

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"

	xdraw "golang.org/x/image/draw"

	"github.com/mtcnn-go/mtcnn/train"
)

// Mask draws a face mask on face f of img: a half ellipse of one flat
// colour (a light blue, green, white or black, chosen by r) hanging from
// just below the eyes, as wide as the face and reaching past the chin,
// with a little shading so it is not perfectly flat. Faces without
// landmarks get a mask from the box alone (the lower 60 %).
func Mask(img draw.Image, f train.Face, r *rand.Rand) {
	x1, y1, x2, y2 := float64(f.Box[0]), float64(f.Box[1]), float64(f.Box[2]), float64(f.Box[3])
	w, h := x2-x1, y2-y1
	top := y1 + 0.4*h
	cx := (x1 + x2) / 2
	if lm := f.Landmarks; lm != nil {
		eyes := (float64(lm[0][1]) + float64(lm[1][1])) / 2
		nose := float64(lm[2][1])
		top = eyes + 0.3*(nose-eyes)
		cx = float64(lm[2][0])
	}
	bottom := y2 + 0.08*h
	rx := 0.62 * w
	palette := []color.RGBA{{168, 200, 230, 255}, {150, 210, 190, 255}, {235, 235, 235, 255}, {40, 40, 45, 255}}
	base := palette[r.IntN(len(palette))]
	b := img.Bounds()
	for y := int(math.Floor(top)); y <= int(math.Ceil(bottom)); y++ {
		if y < b.Min.Y || y >= b.Max.Y {
			continue
		}
		dy := (float64(y) - top) / (bottom - top)
		if dy < 0 || dy > 1 {
			continue
		}
		half := rx * math.Sqrt(1-dy*dy)
		for x := int(math.Floor(cx - half)); x <= int(math.Ceil(cx+half)); x++ {
			if x < b.Min.X || x >= b.Max.X {
				continue
			}
			// Pleats: slightly darker bands across the mask.
			shade := 1 - 0.08*math.Abs(math.Sin(dy*3*math.Pi))
			img.Set(x, y, color.RGBA{uint8(float64(base.R) * shade), uint8(float64(base.G) * shade), uint8(float64(base.B) * shade), 255})
		}
	}
}

// Crop returns a rescaled crop of img containing at least face f: the
// scale is drawn from [minScale, maxScale] (and lowered so the longer side
// of the result is at most maxSide), the window placed at random around
// the face. The faces are mapped into the crop's coordinates; those not
// wholly inside it are dropped, and the second result reports whether
// any face was dropped that overlaps the crop (the caller may then
// discard it, as an unlabelled face would teach the nets that it is none).
func Crop(img image.Image, faces []train.Face, f train.Face, minScale, maxScale float64, maxSide int, r *rand.Rand) (*image.RGBA, []train.Face, bool) {
	b := img.Bounds()
	scale := minScale + (maxScale-minScale)*r.Float64()
	if s := float64(maxSide) / float64(max(b.Dx(), b.Dy())); scale > s {
		scale = s
	}
	W, H := int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)
	// The crop is up to 2.5 face widths either side, at least the face.
	fw := float64(f.Box[2]-f.Box[0]) * scale
	fh := float64(f.Box[3]-f.Box[1]) * scale
	cw := min(W, int(fw*(2+3*r.Float64()))+1)
	ch := min(H, int(fh*(2+3*r.Float64()))+1)
	fx, fy := float64(f.Box[0]-float32(b.Min.X))*scale, float64(f.Box[1]-float32(b.Min.Y))*scale
	lo, hi := max(0, int(fx+fw)-cw), min(W-cw, int(fx))
	ox := lo
	if hi > lo {
		ox = lo + r.IntN(hi-lo+1)
	}
	lo, hi = max(0, int(fy+fh)-ch), min(H-ch, int(fy))
	oy := lo
	if hi > lo {
		oy = lo + r.IntN(hi-lo+1)
	}
	scaled := image.NewRGBA(image.Rect(0, 0, W, H))
	xdraw.BiLinear.Scale(scaled, scaled.Bounds(), img, b, xdraw.Src, nil)
	out := image.NewRGBA(image.Rect(0, 0, cw, ch))
	draw.Draw(out, out.Bounds(), scaled, image.Pt(ox, oy), draw.Src)
	var kept []train.Face
	cut := false
	for _, g := range faces {
		m := train.Face{}
		for i := 0; i < 4; i += 2 {
			m.Box[i] = float32((float64(g.Box[i]-float32(b.Min.X)))*scale) - float32(ox)
			m.Box[i+1] = float32((float64(g.Box[i+1]-float32(b.Min.Y)))*scale) - float32(oy)
		}
		if g.Landmarks != nil {
			var lm [5][2]float32
			for p, xy := range g.Landmarks {
				lm[p] = [2]float32{float32(float64(xy[0]-float32(b.Min.X))*scale) - float32(ox), float32(float64(xy[1]-float32(b.Min.Y))*scale) - float32(oy)}
			}
			m.Landmarks = &lm
		}
		inside := m.Box[0] >= 0 && m.Box[1] >= 0 && m.Box[2] <= float32(cw) && m.Box[3] <= float32(ch)
		overlaps := m.Box[2] > 0 && m.Box[3] > 0 && m.Box[0] < float32(cw) && m.Box[1] < float32(ch)
		switch {
		case inside:
			kept = append(kept, m)
		case overlaps:
			cut = true
		}
	}
	return out, kept, cut
}

// Soften blurs img in place as a camera of lower resolution would: it is
// scaled down by factor (> 1) and back up, bilinearly.
func Soften(img *image.RGBA, factor float64) {
	b := img.Bounds()
	w, h := max(1, int(float64(b.Dx())/factor)), max(1, int(float64(b.Dy())/factor))
	small := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(small, small.Bounds(), img, b, xdraw.Src, nil)
	xdraw.BiLinear.Scale(img, b, small, small.Bounds(), xdraw.Src, nil)
}
