// Package cascade runs the MTCNN face detector: an image pyramid through
// P-Net, then R-Net and O-Net on the surviving candidates, with non-maximum
// suppression, box regression and squaring between the stages, exactly as
// the reference TensorFlow graph does it (all arithmetic in float32).
package cascade

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"time"

	"github.com/mtcnn-go/mtcnn/internal/freelist"
	"github.com/mtcnn-go/mtcnn/internal/parallel"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/nms"
	"github.com/mtcnn-go/mtcnn/weights"
)

// Detector runs the MTCNN cascade with one model. It is safe for concurrent
// use by multiple goroutines; the networks keep compiled graphs for reuse.
type Detector struct {
	pnet, rnet, onet *nets.Net
	// idle holds the per-detection buffers of finished detections for
	// the next ones (at most maxIdleScratch), so detections in a steady
	// state allocate no buffers.
	idle freelist.List[scratch]
}

// maxIdleScratch bounds the finished detections' buffers a Detector keeps:
// one set per concurrent detection on a few cores. A set is a few MB for
// a 1 MP photo (its BGR pixels, one pyramid level per worker, the crops).
const maxIdleScratch = 4

func (d *Detector) getScratch() *scratch {
	if sc := d.idle.Get(); sc != nil {
		return sc
	}
	return new(scratch)
}

func (d *Detector) putScratch(sc *scratch) {
	sc.trim()
	d.idle.Put(sc)
}

// scratch holds the buffers one detection needs: the BGR pixels of a
// small image, the level workers' bands, and a chunk of crops. They are
// reused across calls, except what a large image needed (see trim).
type scratch struct {
	src      source // the image being read
	bgr      []uint8
	levels   []level
	workers  freelist.List[levelWorker] // the idle ones, one per concurrent pyramid level
	perLevel []candidates               // each level's candidates after its NMS
	errs     []error
	all      candidates // stage 1's candidates, all levels
	a, b     candidates // the stages' results and kept candidates
	sel, idx []int
	nms      nms.Suppressor
	faces    []Face    // O-Net's faces before the last NMS
	lms      []float32 // O-Net's landmarks of the candidates kept
	crops    []float32
	refine   nets.Output // R-Net's, then O-Net's output of one chunk
}

// levelWorker holds what one goroutine running pyramid levels reuses.
type levelWorker struct {
	band   []float32     // one band of a level: its resized pixels
	ys, xs []lerpWeights // the level's resize weights
	cols   []int         // the source columns a tile reads (see tile)
	txs    []lerpWeights // the tile's weights, indexing cols or the source
	cxs    []lerpWeights // txs's storage when it indexes cols
	out    nets.Output
	raw    candidates // the level's candidates before NMS
	cells  []int      // their cells (row*width+column), when there are tiles
	order  []int
	sorted candidates // raw in cell order, when there are tiles
	sel    []int
	nms    nms.Suppressor
}

// maxKeptCandidates bounds the candidates (36 bytes each) a finished
// detection's buffers keep room for; maxKeptFloats the float32s of a
// worker's band and of the crops. A large image's larger buffers are
// dropped when it is done, so the Detector's idle buffers stay a few MB.
const (
	maxKeptCandidates = 1 << 16
	maxKeptFloats     = 2 << 20
)

// trim drops the buffers of sc larger than what a Detector keeps, and
// the image it read.
func (sc *scratch) trim() {
	sc.src = source{}
	if cap(sc.bgr) > 3*keptCopyPixels {
		sc.bgr = nil
	}
	for _, c := range []*candidates{&sc.all, &sc.a, &sc.b} {
		if cap(c.boxes) > maxKeptCandidates {
			*c = candidates{}
		}
	}
	if cap(sc.perLevel) > 0 {
		for i := range sc.perLevel {
			if cap(sc.perLevel[i].boxes) > maxKeptCandidates {
				sc.perLevel[i] = candidates{}
			}
		}
	}
	if cap(sc.crops) > maxKeptFloats {
		sc.crops = nil
	}
	if cap(sc.sel) > maxKeptCandidates || cap(sc.idx) > maxKeptCandidates {
		sc.sel, sc.idx = nil, nil
	}
}

// trim drops the buffers of w larger than what a Detector keeps.
func (w *levelWorker) trim() {
	if cap(w.band) > maxKeptFloats {
		w.band = nil
	}
	if cap(w.raw.boxes) > maxKeptCandidates {
		w.raw = candidates{}
		w.cells, w.order, w.sel = nil, nil, nil
	}
	if cap(w.out.Prob) > maxKeptFloats/4 {
		w.out = nets.Output{}
	}
}

// New returns a Detector for the given weights.
func New(m *weights.Model) (*Detector, error) {
	d := Detector{idle: freelist.List[scratch]{Max: maxIdleScratch}}
	var err error
	if d.pnet, err = nets.New(m, nets.PNet); err != nil {
		return nil, err
	}
	if d.rnet, err = nets.New(m, nets.RNet); err != nil {
		return nil, err
	}
	if d.onet, err = nets.New(m, nets.ONet); err != nil {
		return nil, err
	}
	return &d, nil
}

// NewDefault returns a Detector for the model embedded in the binary.
func NewDefault() (*Detector, error) {
	m, err := weights.Default()
	if err != nil {
		return nil, err
	}
	return New(m)
}

// ErrTooLarge is returned when the image pyramid for an image and a min size
// would exceed MaxPyramidPixels.
var ErrTooLarge = errors.New("image pyramid too large")

// MaxPyramidPixels bounds the pixels of all pyramid levels of one detection
// together, and so the memory and time it takes. A 50-megapixel image at min
// size 20 needs about 36 million; a tiny min size on a large image needs
// far more, and is refused rather than exhausting memory.
const MaxPyramidPixels = 64_000_000

// candidates are boxes (y1, x1, y2, x2 in pixels) with their scores and
// regressions, the values the graph passes between stages.
type candidates struct {
	boxes  []nms.Box
	scores []float32
	regs   [][4]float32
}

func (c *candidates) reset() {
	c.boxes, c.scores, c.regs = c.boxes[:0], c.scores[:0], c.regs[:0]
}

func (c *candidates) add(b nms.Box, score float32, reg [4]float32) {
	c.boxes = append(c.boxes, b)
	c.scores = append(c.scores, score)
	c.regs = append(c.regs, reg)
}

// gatherInto sets dst to c's candidates idx, in that order. dst must not
// be c.
func (c *candidates) gatherInto(dst *candidates, idx []int) {
	dst.reset()
	for _, i := range idx {
		dst.add(c.boxes[i], c.scores[i], c.regs[i])
	}
}

// Detect finds the faces in img. The result is in the reference graph's
// output order (O-Net's final NMS order, best score first). An image with
// a side too small for the pyramid yields no faces and no error.
func (d *Detector) Detect(ctx context.Context, img image.Image, opts Options) ([]Face, error) {
	faces, _, err := d.DetectStats(ctx, img, opts)
	return faces, err
}

// DetectStats is Detect that also reports per-stage statistics. The context
// is checked before every P-Net band (at most 256K pixels of a pyramid
// level) and every chunk of R-Net's and O-Net's crops, so a cancelled
// detection stops within a few milliseconds of work; the error then
// wraps ctx.Err().
func (d *Detector) DetectStats(ctx context.Context, img image.Image, opts Options) ([]Face, Stats, error) {
	var st Stats
	if err := opts.Validate(); err != nil {
		return nil, st, err
	}
	opts = opts.withDefaults()
	if img == nil {
		return nil, st, errors.New("cascade: nil image")
	}
	sc := d.getScratch()
	defer d.putScratch(sc)
	levels, err := pyramid(sc.levels, img.Bounds().Dy(), img.Bounds().Dx(), opts)
	if err != nil {
		return nil, st, err
	}
	sc.levels = levels
	if len(levels) == 0 {
		return []Face{}, st, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, st, fmt.Errorf("cascade: %w", err)
	}
	sc.src = newSource(img, sc.bgr)
	src := &sc.src
	if src.bgr != nil {
		sc.bgr = src.bgr
	}

	t0 := time.Now()
	mode := opts.mode()
	c, err := d.stage1(ctx, src, levels, opts.Thresholds[0], mode, sc)
	st.Stage[0] = time.Since(t0)
	if err != nil {
		return []Face{}, st, err
	}
	if st.Candidates[0] = len(c.boxes); len(c.boxes) == 0 {
		return []Face{}, st, nil
	}

	t0 = time.Now()
	c, err = d.stage2(ctx, src, c, opts.Thresholds[1], mode, sc)
	st.Stage[1] = time.Since(t0)
	if err != nil {
		return []Face{}, st, err
	}
	if st.Candidates[1] = len(c.boxes); len(c.boxes) == 0 {
		return []Face{}, st, nil
	}

	t0 = time.Now()
	faces, err := d.stage3(ctx, src, c, opts.Thresholds[2], mode, sc)
	st.Stage[2], st.Candidates[2] = time.Since(t0), len(faces)
	if err != nil {
		return nil, st, err
	}
	return faces, st, nil
}

// level is one pyramid level: its scale and resized size.
type level struct {
	scale float32
	h, w  int
}

// pyramid lists the P-Net levels as the graph's while loop does: scale
// starts at 12/minSize and shrinks by factor while min(H, W)*scale > 12;
// sizes are truncated, int32(H*scale).
//
// The levels are appended to dst[:0].
func pyramid(dst []level, h, w int, o Options) ([]level, error) {
	out := dst[:0]
	if h <= 0 || w <= 0 {
		return out, nil
	}
	var total int64
	side := float32(min(h, w))
	for scale := float32(12) / o.MinSize; float32(side*scale) > 12; scale = float32(scale * o.Factor) {
		l := level{scale: scale, h: int(float32(float32(h) * scale)), w: int(float32(float32(w) * scale))}
		total += int64(l.h) * int64(l.w)
		if total > MaxPyramidPixels {
			return nil, fmt.Errorf("cascade: %w: a %dx%d image at min size %v needs more than %d pyramid pixels",
				ErrTooLarge, w, h, o.MinSize, MaxPyramidPixels)
		}
		out = append(out, l)
	}
	return out, nil
}

func (d *Detector) stage1(ctx context.Context, img *source, levels []level, threshold float32, mode nets.Mode, sc *scratch) (*candidates, error) {
	// Levels are independent until their candidates are concatenated in
	// level order, so they run concurrently, largest first, each worker
	// with buffers of its own; the result is the same as in order.
	for len(sc.perLevel) < len(levels) {
		sc.perLevel = append(sc.perLevel, candidates{})
	}
	sc.errs = slices.Grow(sc.errs[:0], len(levels))[:len(levels)]
	clear(sc.errs)
	perLevel, errs := sc.perLevel[:len(levels)], sc.errs
	levelLoops.Run(len(levels), 1, len(levels)*parallel.MinWork,
		levelRuns{ctx: ctx, d: d, img: img, levels: levels, threshold: threshold, mode: mode, sc: sc})
	all := &sc.all
	all.reset()
	for i := range levels {
		if errs[i] != nil {
			return nil, errs[i]
		}
		all.boxes = append(all.boxes, perLevel[i].boxes...)
		all.scores = append(all.scores, perLevel[i].scores...)
		all.regs = append(all.regs, perLevel[i].regs...)
	}
	return sc.nextBoxes(all), nil
}

// levelRuns is the body of stage 1's parallel loop over pyramid levels.
type levelRuns struct {
	ctx       context.Context
	d         *Detector
	img       *source
	levels    []level
	threshold float32
	mode      nets.Mode
	sc        *scratch
}

var levelLoops parallel.Loops[levelRuns, *levelRuns]

func (j *levelRuns) Run(lo, hi int) {
	sc := j.sc
	w := sc.workers.Get()
	if w == nil {
		w = new(levelWorker)
	}
	defer func() {
		w.trim()
		sc.workers.Put(w)
	}()
	for i := lo; i < hi; i++ {
		sc.errs[i] = j.d.level(j.ctx, j.img, j.levels[i], j.threshold, j.mode, w, &sc.perLevel[i])
	}
}

// nextBoxes ends stages 1 and 2 as the graph does: NMS at IoU 0.7 over c,
// then each kept box regressed and squared. The result is in sc.a, which c
// must not be.
func (sc *scratch) nextBoxes(c *candidates) *candidates {
	sc.sel = sc.nms.Suppress(sc.sel, c.boxes, c.scores, 0.7, 1000)
	res := &sc.a
	c.gatherInto(res, sc.sel)
	for i := range res.boxes {
		res.boxes[i] = square(regress(res.boxes[i], res.regs[i]))
	}
	return res
}

// pnetOut returns P-Net's output size along an input side of n >= 12:
// conv 3x3, pool 2x2 VALID, conv 3x3, conv 3x3.
func pnetOut(n int) int { return (n-2)/2 - 4 }

// level runs P-Net on one pyramid level and sets res to the candidates
// that survive its threshold and the per-level NMS.
//
// The level is never held whole. It runs in tiles of columns (one, unless
// the level is wider than maxTileWidth) and each tile in bands of rows:
// P-Net's output cells [r0, r1) x [c0, c1) depend exactly on the level's
// pixels [2*r0, 2*r1+10) x [2*c0, 2*c1+10), and a band or tile starting on
// an even row and column keeps the 2x2 pooling grid, so every cell is
// computed from the same inputs, in the same order, as in one pass. The
// resized pixels are computed as for the whole level (same weights), and
// the 10 rows consecutive bands share are moved, not recomputed.
func (d *Detector) level(ctx context.Context, img *source, l level, threshold float32, mode nets.Mode, w *levelWorker, res *candidates) error {
	w.ys = legacyWeights(w.ys, l.h, img.h)
	w.xs = legacyWeights(w.xs, l.w, img.w)
	oh, ow := pnetOut(l.h), pnetOut(l.w)
	c := &w.raw
	c.reset()
	w.cells = w.cells[:0]
	tileCells := max(1, (tileWidth-10)/2)
	tiles := (ow + tileCells - 1) / tileCells
	for c0 := 0; c0 < ow; c0 += tileCells {
		c1 := min(c0+tileCells, ow)
		tw := 2*(c1-c0) + 10
		w.tile(img, 2*c0, tw)
		band := bandRows(tw)
		// Every band fits in bandPixels: allocated at that size once,
		// the buffer serves every level.
		if need := (2*min(band, oh) + 10) * tw * 3; cap(w.band) < need {
			w.band = make([]float32, max(need, 3*bandPixels))
		}
		done := 0 // level rows in the band buffer, from row 2*r0 on
		for r0 := 0; r0 < oh; r0 += band {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("cascade: %w", err)
			}
			r1 := min(r0+band, oh)
			rows := 2*(r1-r0) + 10
			// The previous band's last 10 rows are this band's first.
			keep := 0
			if r0 > 0 {
				keep = 10
				copy(w.band, w.band[(done-keep)*tw*3:done*tw*3])
			}
			buf := w.band[:rows*tw*3]
			resizeLoops.Run(rows-keep, 16, (rows-keep)*tw*3*4, resizeRows{
				src: img, out: buf[keep*tw*3:], ys: w.ys[2*r0+keep : 2*r0+rows], xs: w.txs, cols: w.cols,
			})
			done = rows
			out := &w.out
			if err := d.pnet.RunInto(out, buf, 1, rows, tw, mode); err != nil {
				return fmt.Errorf("cascade: P-Net at %dx%d: %w", l.w, l.h, err)
			}
			for r := 0; r < out.H; r++ {
				for col := 0; col < out.W; col++ {
					i := r*out.W + col
					if !(out.Prob[i] > threshold) {
						continue
					}
					gr, gc := r0+r, c0+col
					c.add(nms.Box{
						float32(2*gr+1) / l.scale, float32(2*gc+1) / l.scale,
						float32(2*gr+12) / l.scale, float32(2*gc+12) / l.scale,
					}, out.Prob[i], [4]float32(out.Reg[4*i:4*i+4]))
					if tiles > 1 {
						w.cells = append(w.cells, gr*ow+gc)
					}
				}
			}
		}
	}
	if tiles > 1 {
		// The graph lists a level's cells row by row, and NMS visits
		// equal scores in that order.
		w.order = w.order[:0]
		for i := range w.cells {
			w.order = append(w.order, i)
		}
		cells := w.cells
		slices.SortFunc(w.order, func(a, b int) int { return cells[a] - cells[b] })
		c.gatherInto(&w.sorted, w.order)
		c = &w.sorted
	}
	w.sel = w.nms.Suppress(w.sel, c.boxes, c.scores, 0.5, 1000)
	c.gatherInto(res, w.sel)
	return nil
}

// tile sets w's column weights for a tile of the level tw pixels wide
// from level column x0 on. From a decoded image whose tile reads fewer
// than half its source columns, only those are converted: w.cols lists
// them (each pixel's left and right sample) and w.txs indexes w.cols.
func (w *levelWorker) tile(img *source, x0, tw int) {
	xs := w.xs[x0 : x0+tw]
	if img.bgr != nil || 2*tw >= img.w {
		w.txs, w.cols = xs, nil
		return
	}
	w.cols = w.cols[:0]
	w.cxs = w.cxs[:0]
	for i, wx := range xs {
		w.cols = append(w.cols, wx.lo, wx.hi)
		w.cxs = append(w.cxs, lerpWeights{lo: 2 * i, hi: 2*i + 1, frac: wx.frac})
	}
	w.txs = w.cxs
}

// refine runs R-Net or O-Net on 'size'-pixel crops of every candidate box,
// in chunks (checking ctx before each), and sets k to the candidates
// scoring strictly above threshold, with the net's scores and regressions;
// it returns the indices kept, appended to sc.idx[:0]. For O-Net, sc.lms
// gets the ten landmarks of each candidate kept.
func refine(ctx context.Context, net *nets.Net, img *source, c *candidates, threshold float32, mode nets.Mode, sc *scratch, k *candidates) error {
	size := net.Kind().InputSize()
	per := size * size * 3
	// The nets run batches in chunks of at most this many crops; a
	// chunk of the same size runs as one.
	chunk := 256
	if net.Kind() == nets.ONet {
		chunk = 64
	}
	k.reset()
	sc.idx = sc.idx[:0]
	sc.lms = sc.lms[:0]
	for lo := 0; lo < len(c.boxes); lo += chunk {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cascade: %w", err)
		}
		hi := min(lo+chunk, len(c.boxes))
		n := hi - lo
		// Both nets' full chunks are 442,368 floats: allocated at that
		// size once, the buffer serves both.
		if cap(sc.crops) < n*per {
			sc.crops = make([]float32, max(n*per, chunk*per))
		}
		batch := sc.crops[:n*per]
		cropLoops.Run(n, 16, n*per*4, cropRows{img: img, boxes: c.boxes[lo:hi], size: size, out: batch})
		out := &sc.refine
		if err := net.RunInto(out, batch, n, size, size, mode); err != nil {
			return fmt.Errorf("cascade: %v: %w", net.Kind(), err)
		}
		for j := range n {
			if out.Prob[j] > threshold {
				i := lo + j
				k.add(c.boxes[i], out.Prob[j], [4]float32(out.Reg[4*j:4*j+4]))
				sc.idx = append(sc.idx, i)
				if len(out.Landmarks) > 0 {
					sc.lms = append(sc.lms, out.Landmarks[10*j:10*j+10]...)
				}
			}
		}
	}
	return nil
}

// cropRows is the body of refine's parallel loop over boxes.
type cropRows struct {
	img   *source
	boxes []nms.Box
	size  int
	out   []float32
}

var cropLoops parallel.Loops[cropRows, *cropRows]

func (j *cropRows) Run(lo, hi int) {
	per := j.size * j.size * 3
	for i := lo; i < hi; i++ {
		cropAndResize(j.img, j.boxes[i], j.size, j.out[i*per:(i+1)*per])
	}
}

func (d *Detector) stage2(ctx context.Context, img *source, c *candidates, threshold float32, mode nets.Mode, sc *scratch) (*candidates, error) {
	// c is sc.a, stage 1's result: refine copies what survives into sc.b,
	// and nextBoxes writes the NMS's selection back into sc.a.
	k := &sc.b
	if err := refine(ctx, d.rnet, img, c, threshold, mode, sc, k); err != nil {
		return nil, err
	}
	return sc.nextBoxes(k), nil
}

func (d *Detector) stage3(ctx context.Context, img *source, c *candidates, threshold float32, mode nets.Mode, sc *scratch) ([]Face, error) {
	k := &sc.b
	if err := refine(ctx, d.onet, img, c, threshold, mode, sc, k); err != nil {
		return nil, err
	}
	faces := slices.Grow(sc.faces[:0], len(k.boxes))[:len(k.boxes)]
	sc.faces = faces
	for j := range sc.idx {
		b := k.boxes[j]
		// Landmarks come from the box before regression: p = corner + size*lm.
		h, w := float32(b[2]-b[0]), float32(b[3]-b[1])
		lm := sc.lms[10*j : 10*j+10]
		for p := 0; p < 5; p++ {
			faces[j].Landmarks[p] = [2]float32{
				b[1] + float32(w*lm[5+p]),
				b[0] + float32(h*lm[p]),
			}
		}
		k.boxes[j] = regress(b, k.regs[j])
		faces[j].Score = k.scores[j]
	}
	sc.sel = sc.nms.Suppress(sc.sel, k.boxes, k.scores, 0.6, 1000)
	res := make([]Face, len(sc.sel))
	for n, j := range sc.sel {
		b := k.boxes[j]
		res[n] = Face{Box: [4]float32{b[1], b[0], b[3], b[2]}, Score: faces[j].Score, Landmarks: faces[j].Landmarks}
	}
	return res, nil
}

// regress applies the nets' box regression: each corner moves by the box's
// height or width times its offset (no +1).
func regress(b nms.Box, r [4]float32) nms.Box {
	h, w := float32(b[2]-b[0]), float32(b[3]-b[1])
	return nms.Box{
		b[0] + float32(h*r[0]), b[1] + float32(w*r[1]),
		b[2] + float32(h*r[2]), b[3] + float32(w*r[3]),
	}
}

// square grows the shorter side of b to the longer one about its centre,
// with the +1 pixel convention the graph uses here.
func square(b nms.Box) nms.Box {
	h := float32(b[2]-b[0]) + 1
	w := float32(b[3]-b[1]) + 1
	side := max(h, w)
	dh, dw := float32(h-side), float32(w-side)
	return nms.Box{
		b[0] + float32(dh*0.5), b[1] + float32(dw*0.5),
		b[2] + float32(dh*-0.5), b[3] + float32(dw*-0.5),
	}
}
