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

func (d *Detector) putScratch(sc *scratch) { d.idle.Put(sc) }

// scratch holds the buffers one detection needs: the BGR pixels, resized
// pyramid levels, and a batch of crops. They are reused across calls.
type scratch struct {
	bgr      []uint8
	levels   []level
	workers  freelist.List[levelWorker] // the idle ones, one per concurrent pyramid level
	perLevel []candidates               // each level's candidates after its NMS
	errs     []error
	all      candidates // stage 1's candidates, all levels
	a, b     candidates // the stages' results and kept candidates
	sel, idx []int
	nms      nms.Suppressor
	faces    []Face // O-Net's faces before the last NMS
	crops    []float32
	refine   nets.Output // R-Net's, then O-Net's output
}

// levelWorker holds what one goroutine running pyramid levels reuses.
type levelWorker struct {
	resize resizeBuffers
	out    nets.Output
	raw    candidates // the level's candidates before NMS
	sel    []int
	nms    nms.Suppressor
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
// is checked between pyramid levels and stages; on cancellation the error
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
	bgr := toBGR(img, sc.bgr)
	sc.bgr = bgr.pix

	t0 := time.Now()
	mode := opts.mode()
	c, err := d.stage1(ctx, bgr, levels, opts.Thresholds[0], mode, sc)
	st.Stage[0] = time.Since(t0)
	if err != nil {
		return []Face{}, st, err
	}
	if st.Candidates[0] = len(c.boxes); len(c.boxes) == 0 {
		return []Face{}, st, nil
	}

	t0 = time.Now()
	c, err = d.stage2(ctx, bgr, c, opts.Thresholds[1], mode, sc)
	st.Stage[1] = time.Since(t0)
	if err != nil {
		return []Face{}, st, err
	}
	if st.Candidates[1] = len(c.boxes); len(c.boxes) == 0 {
		return []Face{}, st, nil
	}

	t0 = time.Now()
	faces, err := d.stage3(ctx, bgr, c, opts.Thresholds[2], mode, sc)
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

func (d *Detector) stage1(ctx context.Context, img bgrImage, levels []level, threshold float32, mode nets.Mode, sc *scratch) (*candidates, error) {
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
	img       bgrImage
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
	defer sc.workers.Put(w)
	for i := lo; i < hi; i++ {
		if err := j.ctx.Err(); err != nil {
			sc.errs[i] = fmt.Errorf("cascade: %w", err)
			continue
		}
		sc.errs[i] = j.d.level(j.img, j.levels[i], j.threshold, j.mode, w, &sc.perLevel[i])
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

// level runs P-Net on one pyramid level and sets res to the candidates
// that survive its threshold and the per-level NMS.
func (d *Detector) level(img bgrImage, l level, threshold float32, mode nets.Mode, w *levelWorker, res *candidates) error {
	buf := resizeBilinear(img, l.h, l.w, &w.resize)
	out := &w.out
	if err := d.pnet.RunInto(out, buf, 1, l.h, l.w, mode); err != nil {
		return fmt.Errorf("cascade: P-Net at %dx%d: %w", l.w, l.h, err)
	}
	c := &w.raw
	c.reset()
	for r := 0; r < out.H; r++ {
		for col := 0; col < out.W; col++ {
			i := r*out.W + col
			if !(out.Prob[i] > threshold) {
				continue
			}
			c.add(nms.Box{
				float32(2*r+1) / l.scale, float32(2*col+1) / l.scale,
				float32(2*r+12) / l.scale, float32(2*col+12) / l.scale,
			}, out.Prob[i], [4]float32(out.Reg[4*i:4*i+4]))
		}
	}
	w.sel = w.nms.Suppress(w.sel, c.boxes, c.scores, 0.5, 1000)
	c.gatherInto(res, w.sel)
	return nil
}

// refine runs R-Net or O-Net on 'size'-pixel crops of every candidate box.
func refine(ctx context.Context, net *nets.Net, img bgrImage, c *candidates, mode nets.Mode, sc *scratch) (*nets.Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cascade: %w", err)
	}
	size := net.Kind().InputSize()
	per := size * size * 3
	sc.crops = grow(sc.crops, len(c.boxes)*per)
	batch := sc.crops
	cropLoops.Run(len(c.boxes), 16, len(c.boxes)*per*4, cropRows{img: img, boxes: c.boxes, size: size, out: batch})
	out := &sc.refine
	if err := net.RunInto(out, batch, len(c.boxes), size, size, mode); err != nil {
		return nil, fmt.Errorf("cascade: %v: %w", net.Kind(), err)
	}
	return out, nil
}

// cropRows is the body of refine's parallel loop over boxes.
type cropRows struct {
	img   bgrImage
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

// keep sets k to the candidates of c scoring strictly above threshold,
// with the net's scores and regressions, and returns the indices kept,
// appended to idx[:0].
func keep(c *candidates, out *nets.Output, threshold float32, k *candidates, idx []int) []int {
	k.reset()
	idx = idx[:0]
	for i := range c.boxes {
		if out.Prob[i] > threshold {
			k.add(c.boxes[i], out.Prob[i], [4]float32(out.Reg[4*i:4*i+4]))
			idx = append(idx, i)
		}
	}
	return idx
}

func (d *Detector) stage2(ctx context.Context, img bgrImage, c *candidates, threshold float32, mode nets.Mode, sc *scratch) (*candidates, error) {
	out, err := refine(ctx, d.rnet, img, c, mode, sc)
	if err != nil {
		return nil, err
	}
	// c is sc.a, stage 1's result: keep copies what survives into sc.b,
	// and nextBoxes writes the NMS's selection back into sc.a.
	k := &sc.b
	sc.idx = keep(c, out, threshold, k, sc.idx)
	return sc.nextBoxes(k), nil
}

func (d *Detector) stage3(ctx context.Context, img bgrImage, c *candidates, threshold float32, mode nets.Mode, sc *scratch) ([]Face, error) {
	out, err := refine(ctx, d.onet, img, c, mode, sc)
	if err != nil {
		return nil, err
	}
	k := &sc.b
	sc.idx = keep(c, out, threshold, k, sc.idx)
	faces := slices.Grow(sc.faces[:0], len(k.boxes))[:len(k.boxes)]
	sc.faces = faces
	for j, i := range sc.idx {
		b := k.boxes[j]
		// Landmarks come from the box before regression: p = corner + size*lm.
		h, w := float32(b[2]-b[0]), float32(b[3]-b[1])
		lm := out.Landmarks[10*i : 10*i+10]
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
