package cascade

import (
	"math"
	"slices"

	"github.com/mtcnn-go/mtcnn/internal/parallel"
)

// lerpWeights are the interpolation weights of one output coordinate.
type lerpWeights struct {
	lo, hi int
	frac   float32
}

// legacyWeights computes TensorFlow 1.x resize_bilinear's weights along one
// axis (align_corners=false, no half-pixel centres): in = out * (in/out),
// lower = floor(in), upper = min(ceil(in), in-1), lerp = in - floor(in).
// They are appended to ws[:0].
func legacyWeights(ws []lerpWeights, outSize, inSize int) []lerpWeights {
	scale := float32(inSize) / float32(outSize)
	ws = slices.Grow(ws[:0], outSize)[:outSize]
	for i := range ws {
		// Rounded explicitly: in - f below must not fuse with this product.
		in := float32(float32(i) * scale)
		f := float32(math.Floor(float64(in)))
		ws[i] = lerpWeights{
			lo:   max(int(f), 0),
			hi:   min(int(math.Ceil(float64(in))), inSize-1),
			frac: in - f,
		}
	}
	return ws
}

// lerp is a + (b - a) * t with each step rounded to float32, as TensorFlow's
// kernels compute it (the explicit conversion forbids a fused multiply-add).
func lerp(a, b, t float32) float32 { return a + float32((b-a)*t) }

// resizeBuffers are what resizeBilinear reuses from call to call: the
// output and the weights of both axes.
type resizeBuffers struct {
	out    []float32
	ys, xs []lerpWeights
}

// resizeBilinear resizes the normalised image to h x w with TensorFlow 1.x
// resize_bilinear semantics and returns it as NHWC float32 (batch of one),
// in b.out.
func resizeBilinear(img bgrImage, h, w int, b *resizeBuffers) []float32 {
	b.out = grow(b.out, h*w*3)
	b.ys = legacyWeights(b.ys, h, img.h)
	b.xs = legacyWeights(b.xs, w, img.w)
	resizeLoops.Run(h, 16, h*w*3*4, resizeRows{img: img, out: b.out, ys: b.ys, xs: b.xs})
	return b.out
}

// resizeRows is the body of resizeBilinear's parallel loop over output
// rows.
type resizeRows struct {
	img    bgrImage
	out    []float32
	ys, xs []lerpWeights
}

var resizeLoops parallel.Loops[resizeRows, *resizeRows]

func (j *resizeRows) Run(lo, hi int) {
	img, xs, w := j.img, j.xs, len(j.xs)
	stride := img.w * 3
	for y := lo; y < hi; y++ {
		wy := j.ys[y]
		top := img.pix[wy.lo*stride:]
		bot := img.pix[wy.hi*stride:]
		row := j.out[y*w*3:]
		for x, wx := range xs {
			l, r := 3*wx.lo, 3*wx.hi
			for c := 0; c < 3; c++ {
				t := lerp(normalised[top[l+c]], normalised[top[r+c]], wx.frac)
				b := lerp(normalised[bot[l+c]], normalised[bot[r+c]], wx.frac)
				row[3*x+c] = lerp(t, b, wy.frac)
			}
		}
	}
}

// cropAndResize samples the normalised image inside box (y1, x1, y2, x2 in
// pixels) onto a size x size grid with TensorFlow's CropAndResize: the box
// is first normalised by the image size, a crop row i maps to
// y1n*(H-1) + i*((y2n-y1n)*(H-1)/(size-1)), and samples outside the image
// are 0 (the extrapolation value, in the normalised image).
func cropAndResize(img bgrImage, box [4]float32, size int, out []float32) {
	hm1, wm1 := float32(img.h-1), float32(img.w-1)
	y1n, x1n := box[0]/float32(img.h), box[1]/float32(img.w)
	y2n, x2n := box[2]/float32(img.h), box[3]/float32(img.w)
	den := float32(size - 1)
	hScale := float32(float32(y2n-y1n)*hm1) / den
	wScale := float32(float32(x2n-x1n)*wm1) / den
	y0, x0 := float32(y1n*hm1), float32(x1n*wm1)
	stride := img.w * 3
	// The columns' sample positions are the same on every row: compute
	// them once.
	type col struct {
		l, r int // byte offsets of the left and right samples; l < 0: outside
		fx   float32
	}
	var buf [64]col
	cols := buf[:0]
	if size > len(buf) {
		cols = make([]col, 0, size)
	}
	for x := 0; x < size; x++ {
		inX := x0 + float32(float32(x)*wScale)
		if !(inX >= 0 && inX <= wm1) {
			cols = append(cols, col{l: -1})
			continue
		}
		l := int(math.Floor(float64(inX)))
		r := int(math.Ceil(float64(inX)))
		cols = append(cols, col{3 * l, 3 * r, inX - float32(l)})
	}
	for y := 0; y < size; y++ {
		row := out[y*size*3 : (y+1)*size*3]
		inY := y0 + float32(float32(y)*hScale)
		if !(inY >= 0 && inY <= hm1) {
			clear(row)
			continue
		}
		top := int(math.Floor(float64(inY)))
		bot := int(math.Ceil(float64(inY)))
		fy := inY - float32(top)
		tp, bp := img.pix[top*stride:(top+1)*stride], img.pix[bot*stride:(bot+1)*stride]
		for x, c := range cols {
			px := row[3*x : 3*x+3]
			if c.l < 0 {
				px[0], px[1], px[2] = 0, 0, 0
				continue
			}
			tl, tr, bl, br := tp[c.l:c.l+3], tp[c.r:c.r+3], bp[c.l:c.l+3], bp[c.r:c.r+3]
			for ch := range 3 {
				t := lerp(normalised[tl[ch]], normalised[tr[ch]], c.fx)
				b := lerp(normalised[bl[ch]], normalised[br[ch]], c.fx)
				px[ch] = lerp(t, b, fy)
			}
		}
	}
}

// grow returns buf resized to n, reallocating only when it is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
