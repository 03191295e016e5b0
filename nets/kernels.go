package nets

import (
	"math"
	"runtime"

	"github.com/mtcnn-go/mtcnn/internal/parallel"
)

// shape4 is an NHWC tensor shape.
type shape4 struct{ n, h, w, c int }

func (s shape4) size() int { return s.n * s.h * s.w * s.c }

// conv2d computes a VALID, stride-1 convolution of in (NHWC) with an HWIO
// kernel, then adds the bias and, when alpha is non-nil, applies PReLU
// (x > 0 ? x : alpha*x), as the graph's Conv2D, BiasAdd and Select do. The
// bias is added after the full sum, like BiasAdd, not used as the sum's start.
//
// Each output row is one segmented matrix product (convGemm) whose segments
// are the kernel rows: in NHWC the kw*cin inputs under kernel row ky at
// column x are contiguous and start cin floats after those of column x-1,
// so the input serves as a matrix with overlapping rows and no im2col copy
// is needed. Each output therefore sums its products in the order kernel
// row, kernel column, input channel, one rounded product at a time (or one
// fused multiply-add at a time with fma): the same bits as the plain
// definition. (Merging rows into longer products, or im2col, measured
// slower: they waste work on the small maps of R-Net and O-Net and stream
// more memory.) Rows run in parallel.
func conv2d(in []float32, s shape4, w []float32, kh, kw, cout int, bias, alpha, out []float32, fma bool) shape4 {
	o := shape4{s.n, s.h - kh + 1, s.w - kw + 1, cout}
	out = out[:o.size()]
	if o.h == 1 && o.w == 1 {
		convFC(in, s, w, o, bias, alpha, out, fma)
		return o
	}
	j := convJob{in: in, s: s, w: w, kh: kh, k: kw * s.c, cout: cout, bias: bias, alpha: alpha, out: out, fma: fma, o: o}
	rowWork := o.w * cout * j.k * kh
	convRowsLoops.Run(s.n*o.h, max(1, rowsPerChunk/o.w), s.n*o.h*rowWork, convRows(j))
	return o
}

// convJob holds a convolution kernel's arguments: its parallel loops'
// bodies are the types defined on it below, one per loop.
type convJob struct {
	in          []float32
	s           shape4 // the input's shape
	w           []float32
	kh, k, cout int // k is kw*cin, a kernel row's length
	bias, alpha []float32
	out         []float32
	fma         bool
	o           shape4 // the convolution's output shape
	// convHeads: the 1x1 convolution's kernel, bias and channels.
	hw, hb []float32
	hc     int
	// convPool: the pool, its output shape and leading padding, and the
	// split of each image's pooled rows into chunks of per rows.
	p           pool
	po          shape4
	ph, pw      int
	chunks, per int
}

type (
	convRows   convJob // conv2d's rows
	convFCs    convJob // convFC's chunks of images
	headRows   convJob // convHeads' rows
	headFCs    convJob // convHeads' chunks of images
	poolChunks convJob // convPool's chunks of pooled rows
)

var (
	convRowsLoops   parallel.Loops[convRows, *convRows]
	convFCLoops     parallel.Loops[convFCs, *convFCs]
	headRowsLoops   parallel.Loops[headRows, *headRows]
	headFCLoops     parallel.Loops[headFCs, *headFCs]
	poolChunksLoops parallel.Loops[poolChunks, *poolChunks]
	softmaxLoops    parallel.Loops[softmaxJob, *softmaxJob]
)

func (j *convRows) Run(lo, hi int) {
	s, o, cout := j.s, j.o, j.cout
	for r := lo; r < hi; r++ {
		b, y := r/o.h, r%o.h
		dst := j.out[r*o.w*cout : (r+1)*o.w*cout]
		// The kernel rows are the segments: one call per output row.
		convGemm(o.w, cout, j.kh, j.k, j.in[((b*s.h+y)*s.w)*s.c:], s.c, s.w*s.c, j.w, cout, dst, cout, j.bias, j.alpha, j.fma)
	}
}

// convHeads computes conv2d's convolution followed by a 1x1 convolution
// (kernel hw [cout x hc], bias hb, no activation) of its output, without
// the first convolution's output: each output row, or each chunk of images
// when the kernel covers the whole input, goes through a buffer the size
// of one row, still in cache when the 1x1 convolution reads it. Every
// value is computed as the two conv2d calls compute it.
func convHeads(in []float32, s shape4, w []float32, kh, kw, cout int, bias, alpha, hw, hb []float32, hc int, out []float32, fma bool) shape4 {
	o := shape4{s.n, s.h - kh + 1, s.w - kw + 1, hc}
	out = out[:o.size()]
	j := convJob{in: in, s: s, w: w, kh: kh, k: kw * s.c, cout: cout, bias: bias, alpha: alpha, out: out, fma: fma, o: o,
		hw: hw, hb: hb, hc: hc}
	if o.h == 1 && o.w == 1 {
		j.k *= kh
		headFCLoops.Run(s.n, 64, s.n*(cout*j.k+hc*cout), headFCs(j))
		return o
	}
	rowWork := o.w * (cout*j.k*kh + hc*cout)
	headRowsLoops.Run(s.n*o.h, max(1, rowsPerChunk/o.w), s.n*o.h*rowWork, headRows(j))
	return o
}

func (j *headFCs) Run(lo, hi int) {
	cout, hc, k := j.cout, j.hc, j.k
	bp := getBuf((hi - lo) * cout)
	convGemm(hi-lo, cout, 1, k, j.in[lo*k:], k, 0, j.w, cout, bp.f, cout, j.bias, j.alpha, j.fma)
	convGemm(hi-lo, hc, 1, cout, bp.f, cout, 0, j.hw, hc, j.out[lo*hc:hi*hc], hc, j.hb, nil, j.fma)
	putBuf(bp)
}

func (j *headRows) Run(lo, hi int) {
	s, o, cout, hc := j.s, j.o, j.cout, j.hc
	bp := getBuf(o.w * cout)
	for r := lo; r < hi; r++ {
		b, y := r/o.h, r%o.h
		convGemm(o.w, cout, j.kh, j.k, j.in[((b*s.h+y)*s.w)*s.c:], s.c, s.w*s.c, j.w, cout, bp.f, cout, j.bias, j.alpha, j.fma)
		convGemm(o.w, hc, 1, cout, bp.f, cout, 0, j.hw, hc, j.out[r*o.w*hc:(r+1)*o.w*hc], hc, j.hb, nil, j.fma)
	}
	putBuf(bp)
}

// rowsPerChunk is about how many output pixels one parallel chunk covers:
// enough to amortise scheduling, few enough to balance two or more cores.
const rowsPerChunk = 256

// convFC runs the "fully connected" layers, whose kernel covers the whole
// input: each image is one row of A. Chunks of 64 images keep a chunk's
// inputs in cache while every column block of the kernel passes over them.
func convFC(in []float32, s shape4, w []float32, o shape4, bias, alpha, out []float32, fma bool) {
	j := convJob{in: in, s: s, w: w, kh: 1, k: s.h * s.w * s.c, cout: o.c, bias: bias, alpha: alpha, out: out, fma: fma, o: o}
	convFCLoops.Run(s.n, 64, s.n*o.c*j.k, convFCs(j))
}

func (j *convFCs) Run(lo, hi int) {
	c, k := j.cout, j.k
	convGemm(hi-lo, c, 1, k, j.in[lo*k:], k, 0, j.w, c, j.out[lo*c:hi*c], c, j.bias, j.alpha, j.fma)
}

// biasPReLUGeneric adds the per-channel bias to x (channels last) and
// applies PReLU with per-channel slopes alpha, or no activation when alpha
// is nil. It is the specification of the assembly versions.
func biasPReLUGeneric(x, bias, alpha []float32) {
	c := len(bias)
	for i := 0; i < len(x); i += c {
		v := x[i : i+c]
		for j := range v {
			t := v[j] + bias[j]
			if alpha != nil && !(t > 0) {
				t *= alpha[j]
			}
			v[j] = t
		}
	}
}

// poolOut returns the output size and leading padding of TensorFlow's
// pooling along one axis. SAME pads (out-1)*s+k-in in total, the smaller
// half before, so an odd total pads one more at the bottom/right; VALID
// drops what does not fill a window.
func poolOut(in, k, s int, same bool) (out, padBefore int) {
	if !same {
		return (in-k)/s + 1, 0
	}
	out = (in + s - 1) / s
	pad := max((out-1)*s+k-in, 0)
	return out, pad / 2
}

// pool describes a max pool: a k×k window at stride s, TensorFlow's SAME
// or VALID padding.
type pool struct {
	k, s int
	same bool
}

// out returns the pooled shape of s and the leading padding of its rows
// and columns.
func (p pool) out(s shape4) (o shape4, ph, pw int) {
	oh, ph := poolOut(s.h, p.k, p.s, p.same)
	ow, pw := poolOut(s.w, p.k, p.s, p.same)
	return shape4{s.n, oh, ow, s.c}, ph, pw
}

// rows returns the input rows [y0, y1) the window of output row y covers.
func (p pool) rows(y, ph, h int) (y0, y1 int) {
	return max(y*p.s-ph, 0), min(y*p.s-ph+p.k, h)
}

// row pools one output row of ow pixels from the rows input rows starting
// at in, each w pixels of c channels wide. Each output row is a few
// maxWindows calls: the run of whole windows, and the edge windows SAME
// clips, one by one.
func (p pool) row(dst, in []float32, rows, w, ow, pw, c int) {
	var buf [16]int
	for x := 0; x < ow; {
		x0, x1 := max(x*p.s-pw, 0), min(x*p.s-pw+p.k, w)
		n := 1
		if x1-x0 == p.k {
			for x+n < ow && (x+n)*p.s-pw+p.k <= w {
				n++
			}
		}
		offs := windowOffsets(buf[:0], rows, x1-x0, w*c, c)
		maxWindows(dst[x*c:], in[x0*c:], n, c, p.s*c, offs)
		x += n
	}
}

// convPool computes a VALID, stride-1 convolution as conv2d does, then
// TensorFlow's MaxPool of its output (NHWC, square window, SAME or VALID
// padding; padding never wins: windows take the max of their real inputs,
// and SAME pads less than a window, so every window holds one). The whole
// convolution output never exists: each parallel chunk computes the
// convolution rows its pooled rows cover into a buffer small enough for
// the core's cache, then pools them.
func convPool(in []float32, s shape4, w []float32, kh, kw, cout int, bias, alpha []float32, p pool, out []float32, fma bool) shape4 {
	cs := shape4{s.n, s.h - kh + 1, s.w - kw + 1, cout} // the convolution's output
	o, ph, pw := p.out(cs)
	k := kw * s.c
	convRow := cs.w * cout
	// Pooled rows per chunk: their convolution rows fill about
	// poolScratch floats, or a whole image when it is smaller; and, for a
	// batch too small to spread over the cores, at most an eighth of a
	// core's share of the rows, so the cores end together.
	per := max(1, min(o.h, (poolScratch/convRow-p.k)/p.s+1))
	if procs := runtime.GOMAXPROCS(0); s.n < 8*procs {
		per = max(1, min(per, o.h*s.n/(8*procs)))
	}
	chunks := (o.h + per - 1) / per
	work := s.n * cs.h * convRow * k * kh
	j := convJob{in: in, s: s, w: w, kh: kh, k: k, cout: cout, bias: bias, alpha: alpha, out: out, fma: fma, o: cs,
		p: p, po: o, ph: ph, pw: pw, chunks: chunks, per: per}
	poolChunksLoops.Run(s.n*chunks, 1, work, poolChunks(j))
	return o
}

func (j *poolChunks) Run(lo, hi int) {
	s, cs, o, p, cout := j.s, j.o, j.po, j.p, j.cout
	convRow := cs.w * cout
	for ch := lo; ch < hi; ch++ {
		b, yLo := ch/j.chunks, (ch%j.chunks)*j.per
		yHi := min(yLo+j.per, o.h)
		r0, _ := p.rows(yLo, j.ph, cs.h)
		_, r1 := p.rows(yHi-1, j.ph, cs.h)
		bufp := getBuf((r1 - r0) * convRow)
		buf := bufp.f
		for r := r0; r < r1; r++ {
			convGemm(cs.w, cout, j.kh, j.k, j.in[((b*s.h+r)*s.w)*s.c:], s.c, s.w*s.c, j.w, cout, buf[(r-r0)*convRow:], cout, j.bias, j.alpha, j.fma)
		}
		for y := yLo; y < yHi; y++ {
			y0, y1 := p.rows(y, j.ph, cs.h)
			p.row(j.out[(b*o.h+y)*o.w*cout:], buf[(y0-r0)*convRow:], y1-y0, cs.w, o.w, j.pw, cout)
		}
		putBuf(bufp)
	}
}

// poolScratch is about how many floats of convolution output a convPool
// chunk holds: 512 KiB, well inside a core's L2 cache.
const poolScratch = 128 << 10

// windowOffsets appends to offs the offsets of a window's rows×cols
// pixels from its first, row by row, in an image whose rows are rowStride
// floats apart.
func windowOffsets(offs []int, rows, cols, rowStride, c int) []int {
	for iy := 0; iy < rows; iy++ {
		for ix := 0; ix < cols; ix++ {
			offs = append(offs, iy*rowStride+ix*c)
		}
	}
	return offs
}

// maxWindowsGeneric sets, for each of n windows x, dst[x*c+ch] to the max
// of src[x*xstep+offs[j]+ch] over j, taken in order: a later value replaces
// the max only when it is greater. It is the specification of the assembly
// and NEON versions.
func maxWindowsGeneric(dst, src []float32, n, c, xstep int, offs []int) {
	for x := 0; x < n; x++ {
		d := dst[x*c : x*c+c]
		base := src[x*xstep:]
		copy(d, base[offs[0]:offs[0]+c])
		for _, o := range offs[1:] {
			for ch, v := range base[o : o+c] {
				if v > d[ch] {
					d[ch] = v
				}
			}
		}
	}
}

// expNegGeneric sets dst[i] = float32(expFMA(float64(src[i]))). It is the
// specification of expNeg's vector versions, which take arguments <= 0 or
// NaN.
func expNegGeneric(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(expFMA(float64(v)))
	}
}

// softmax2 is softmax's loop for cells [lo, hi) of two channels (the
// face/non-face pair), written out: the same values as softmax computes.
// The larger value's exp(0) is 1 and its share 1*inv = inv exactly; only
// the smaller one needs exp, of small - big = -|x0 - x1|, and which of the
// two it is only chooses where the results go. The exponentials of a run
// of cells are taken together (expNeg), without a branch on the data's
// sign (random, so mispredicted, it cost more than the exp).
func softmax2(x []float32, cx int, y []float32, lo, hi int) {
	var d, e [256]float32
	for i0 := lo; i0 < hi; i0 += len(d) {
		n := min(len(d), hi-i0)
		for j := range n {
			i := i0 + j
			d[j] = math.Float32frombits(math.Float32bits(x[i*cx]-x[i*cx+1]) | 1<<31)
		}
		expNeg(e[:n], d[:n])
		for j := range n {
			i := i0 + j
			x0, x1 := x[i*cx], x[i*cx+1]
			ej := e[j]
			if x0 == x1 {
				ej = 1 // equal infinities too: softmax takes each as the max, exp(0)
			}
			k := 0 // the larger value's channel
			if x1 > x0 {
				k = 1
			}
			inv := 1 / (1 + ej)
			y[2*i+k], y[2*i+1-k] = inv, ej*inv
		}
	}
}

// softmax writes to y, c values per cell, the softmax of the first c of
// every cx values of x, as TensorFlow's Softmax computes it: exp(x - max),
// times the reciprocal of the sum. Cells run in parallel.
func softmax(x []float32, cx int, y []float32, c int) {
	cells := len(x) / cx
	softmaxLoops.Run(cells, 1024, cells*c*16, softmaxJob{x: x, cx: cx, y: y, c: c})
}

// softmaxJob holds softmax's arguments: the body of its parallel loop.
type softmaxJob struct {
	x, y  []float32
	cx, c int
}

func (j *softmaxJob) Run(lo, hi int) {
	x, cx, y, c := j.x, j.cx, j.y, j.c
	if c == 2 {
		softmax2(x, cx, y, lo, hi)
		return
	}
	for i := lo; i < hi; i++ {
		v := x[i*cx : i*cx+c]
		d := y[i*c : i*c+c]
		m := v[0]
		for _, t := range v[1:] {
			m = max(m, t)
		}
		var sum float32
		for k, t := range v {
			// exp(0) is 1 exactly: the max (one of two, for the
			// face/non-face pair) needs no call.
			e := float32(1)
			if t != m {
				e = float32(expFMA(float64(t - m)))
			}
			d[k] = e
			sum += e
		}
		inv := 1 / sum
		for k := range d {
			d[k] *= inv
		}
	}
}
