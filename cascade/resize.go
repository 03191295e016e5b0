package cascade

import (
	"math"
	"slices"

	"github.com/mtcnn-go/mtcnn/internal/freelist"
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

// resizeRows is the body of the parallel loop over the rows of a band of
// a pyramid level: TensorFlow 1.x resize_bilinear of the normalised image
// (align_corners=false, no half-pixel centres) for the level rows whose
// weights are ys, written as NHWC float32 rows of len(xs) pixels into out.
// When cols is nil, xs index source columns and whole source rows are
// read; otherwise only the source columns cols are read (gathered in that
// order) and xs index cols.
type resizeRows struct {
	src    *source
	out    []float32
	ys, xs []lerpWeights
	cols   []int
}

var resizeLoops parallel.Loops[resizeRows, *resizeRows]

// rowCache holds the last two source rows (or gathered columns) a resize
// loop converted to BGR: consecutive output rows share source rows.
type rowCache struct {
	idx [2]int
	buf [2][]uint8
}

// rowCaches recycles the caches of resize loops reading decoded images.
var rowCaches = freelist.List[rowCache]{Max: 16}

// maxCachedRow bounds the row buffers rowCaches keeps (bytes each).
const maxCachedRow = 256 << 10

// get returns the BGR bytes of source row y, converting it into the slot
// that does not hold row keep when it is not cached.
func (c *rowCache) get(src *source, y, keep int, cols []int) []uint8 {
	for i := range c.idx {
		if c.idx[i] == y {
			return c.buf[i]
		}
	}
	slot := 0
	if c.idx[0] == keep {
		slot = 1
	}
	if cols != nil {
		src.gather(y, cols, c.buf[slot])
	} else {
		src.row(y, c.buf[slot])
	}
	c.idx[slot] = y
	return c.buf[slot]
}

func (j *resizeRows) Run(lo, hi int) {
	xs, w := j.xs, len(j.xs)
	src := j.src
	var c *rowCache
	if src.bgr == nil || j.cols != nil {
		n := 3 * src.w
		if j.cols != nil {
			n = 3 * len(j.cols)
		}
		if c = rowCaches.Get(); c == nil {
			c = new(rowCache)
		}
		c.idx = [2]int{-1, -1}
		for i := range c.buf {
			c.buf[i] = slices.Grow(c.buf[i][:0], n)[:n]
		}
		defer func() {
			if cap(c.buf[0]) <= maxCachedRow {
				rowCaches.Put(c)
			}
		}()
	}
	for y := lo; y < hi; y++ {
		wy := j.ys[y]
		var top, bot []uint8
		if c == nil {
			top, bot = src.row(wy.lo, nil), src.row(wy.hi, nil)
		} else {
			top = c.get(src, wy.lo, wy.hi, j.cols)
			bot = c.get(src, wy.hi, wy.lo, j.cols)
		}
		row := j.out[y*w*3 : (y+1)*w*3]
		fy := wy.frac
		// Written out per channel on 3-byte slices: one bounds check
		// per slice instead of one per byte, same float32 steps.
		for x, wx := range xs {
			l, r := 3*wx.lo, 3*wx.hi
			tl, tr, bl, br := top[l:l+3], top[r:r+3], bot[l:l+3], bot[r:r+3]
			o, fx := row[3*x:3*x+3], wx.frac
			o[0] = lerp(lerp(normalised[tl[0]], normalised[tr[0]], fx), lerp(normalised[bl[0]], normalised[br[0]], fx), fy)
			o[1] = lerp(lerp(normalised[tl[1]], normalised[tr[1]], fx), lerp(normalised[bl[1]], normalised[br[1]], fx), fy)
			o[2] = lerp(lerp(normalised[tl[2]], normalised[tr[2]], fx), lerp(normalised[bl[2]], normalised[br[2]], fx), fy)
		}
	}
}

// cropAndResize samples the normalised image inside box (y1, x1, y2, x2 in
// pixels) onto a size x size grid (size at most 64) with TensorFlow's
// CropAndResize: the box is first normalised by the image size, a crop
// row i maps to y1n*(H-1) + i*((y2n-y1n)*(H-1)/(size-1)), and samples
// outside the image are 0 (the extrapolation value, in the normalised
// image). From a decoded image, only the two source pixels each crop
// column samples are converted, per source row.
func cropAndResize(img *source, box [4]float32, size int, out []float32) {
	hm1, wm1 := float32(img.h-1), float32(img.w-1)
	y1n, x1n := box[0]/float32(img.h), box[1]/float32(img.w)
	y2n, x2n := box[2]/float32(img.h), box[3]/float32(img.w)
	den := float32(size - 1)
	hScale := float32(float32(y2n-y1n)*hm1) / den
	wScale := float32(float32(x2n-x1n)*wm1) / den
	y0, x0 := float32(y1n*hm1), float32(x1n*wm1)
	// The columns' sample positions are the same on every row: compute
	// them once.
	type col struct {
		l, r int // byte offsets of the left and right samples in a row; l < 0: outside
		fx   float32
	}
	const maxSize = 64
	var buf [maxSize]col
	cols := buf[:0]
	// From a decoded image, each row's samples are gathered: pixel
	// xs[2x] and xs[2x+1] are column x's left and right ones.
	var xsBuf [2 * maxSize]int
	xs := xsBuf[:0]
	gathered := img.bgr == nil
	for x := 0; x < size; x++ {
		inX := x0 + float32(float32(x)*wScale)
		if !(inX >= 0 && inX <= wm1) {
			cols = append(cols, col{l: -1})
			xs = append(xs, 0, 0)
			continue
		}
		l := int(math.Floor(float64(inX)))
		r := int(math.Ceil(float64(inX)))
		if gathered {
			cols = append(cols, col{6 * x, 6*x + 3, inX - float32(l)})
			xs = append(xs, l, r)
			continue
		}
		cols = append(cols, col{3 * l, 3 * r, inX - float32(l)})
	}
	var rows [2][6 * maxSize]uint8
	rowOf := [2]int{-1, -1}
	// sampled returns source row y's samples, reusing a gathered row
	// unless it is row keep.
	sampled := func(y, keep int) []uint8 {
		if !gathered {
			return img.bgr[y*img.w*3 : (y+1)*img.w*3]
		}
		for i := range rowOf {
			if rowOf[i] == y {
				return rows[i][:]
			}
		}
		slot := 0
		if rowOf[0] == keep {
			slot = 1
		}
		img.gather(y, xs, rows[slot][:])
		rowOf[slot] = y
		return rows[slot][:]
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
		tp := sampled(top, bot)
		bp := sampled(bot, top)
		for x, c := range cols {
			px := row[3*x : 3*x+3]
			if c.l < 0 {
				px[0], px[1], px[2] = 0, 0, 0
				continue
			}
			tl, tr, bl, br := tp[c.l:c.l+3], tp[c.r:c.r+3], bp[c.l:c.l+3], bp[c.r:c.r+3]
			fx := c.fx
			px[0] = lerp(lerp(normalised[tl[0]], normalised[tr[0]], fx), lerp(normalised[bl[0]], normalised[br[0]], fx), fy)
			px[1] = lerp(lerp(normalised[tl[1]], normalised[tr[1]], fx), lerp(normalised[bl[1]], normalised[br[1]], fx), fy)
			px[2] = lerp(lerp(normalised[tl[2]], normalised[tr[2]], fx), lerp(normalised[bl[2]], normalised[br[2]], fx), fy)
		}
	}
}
