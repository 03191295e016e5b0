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
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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
	// the next ones. Unlike a sync.Pool, which the garbage collector
	// empties, it keeps them (at most maxIdleScratch), so detections in a
	// steady state allocate no buffers.
	mu   sync.Mutex
	idle []*scratch
}

// maxIdleScratch bounds the finished detections' buffers a Detector keeps:
// one set per concurrent detection on a few cores. A set is a few MB for
// a 1 MP photo (its BGR pixels, one pyramid level per worker, the crops).
const maxIdleScratch = 4

func (d *Detector) getScratch() *scratch {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.idle); n > 0 {
		sc := d.idle[n-1]
		d.idle[n-1] = nil
		d.idle = d.idle[:n-1]
		return sc
	}
	return new(scratch)
}

func (d *Detector) putScratch(sc *scratch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.idle) < maxIdleScratch {
		d.idle = append(d.idle, sc)
	}
}

// scratch holds the buffers one detection needs: the BGR pixels, resized
// pyramid levels, and a batch of crops. They are reused across calls.
type scratch struct {
	bgr    []uint8
	levels [][]float32    // one resize buffer per P-Net worker
	outs   []*nets.Output // one P-Net output per P-Net worker
	crops  []float32
	refine nets.Output // R-Net's, then O-Net's output
}

// New returns a Detector for the given weights.
func New(m *weights.Model) (*Detector, error) {
	var d Detector
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

func (c *candidates) gather(idx []int) candidates {
	out := candidates{
		boxes:  make([]nms.Box, len(idx)),
		scores: make([]float32, len(idx)),
		regs:   make([][4]float32, len(idx)),
	}
	for k, i := range idx {
		out.boxes[k], out.scores[k], out.regs[k] = c.boxes[i], c.scores[i], c.regs[i]
	}
	return out
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
	levels, err := pyramid(img.Bounds().Dy(), img.Bounds().Dx(), opts)
	if err != nil {
		return nil, st, err
	}
	if len(levels) == 0 {
		return []Face{}, st, nil
	}
	sc := d.getScratch()
	defer d.putScratch(sc)
	bgr := toBGR(img, sc.bgr)
	sc.bgr = bgr.pix

	t0 := time.Now()
	mode := opts.mode()
	c, err := d.stage1(ctx, bgr, levels, opts.Thresholds[0], mode, sc)
	st.Stage[0], st.Candidates[0] = time.Since(t0), len(c.boxes)
	if err != nil || len(c.boxes) == 0 {
		return []Face{}, st, err
	}

	t0 = time.Now()
	c, err = d.stage2(ctx, bgr, c, opts.Thresholds[1], mode, sc)
	st.Stage[1], st.Candidates[1] = time.Since(t0), len(c.boxes)
	if err != nil || len(c.boxes) == 0 {
		return []Face{}, st, err
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
func pyramid(h, w int, o Options) ([]level, error) {
	if h <= 0 || w <= 0 {
		return nil, nil
	}
	var out []level
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

func (d *Detector) stage1(ctx context.Context, img bgrImage, levels []level, threshold float32, mode nets.Mode, sc *scratch) (candidates, error) {
	// Levels are independent until their candidates are concatenated in
	// level order, so they run concurrently, largest first, each worker
	// with a resize buffer of its own; the result is the same as in order.
	workers := min(runtime.GOMAXPROCS(0), len(levels))
	for len(sc.levels) < workers {
		sc.levels = append(sc.levels, nil)
		sc.outs = append(sc.outs, new(nets.Output))
	}
	perLevel := make([]candidates, len(levels))
	errs := make([]error, len(levels))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(levels) {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[i] = fmt.Errorf("cascade: %w", err)
					return
				}
				perLevel[i], sc.levels[w], errs[i] = d.level(img, levels[i], threshold, mode, sc.levels[w], sc.outs[w])
			}
		}()
	}
	wg.Wait()
	var all candidates
	for i := range levels {
		if errs[i] != nil {
			return candidates{}, errs[i]
		}
		all.boxes = append(all.boxes, perLevel[i].boxes...)
		all.scores = append(all.scores, perLevel[i].scores...)
		all.regs = append(all.regs, perLevel[i].regs...)
	}
	all = all.gather(nms.Suppress(all.boxes, all.scores, 0.7, 1000))
	for i := range all.boxes {
		all.boxes[i] = square(regress(all.boxes[i], all.regs[i]))
	}
	return all, nil
}

// level runs P-Net on one pyramid level and returns the candidates that
// survive its threshold and the per-level NMS, and the resize buffer.
func (d *Detector) level(img bgrImage, l level, threshold float32, mode nets.Mode, buf []float32, out *nets.Output) (candidates, []float32, error) {
	buf = resizeBilinear(img, l.h, l.w, buf)
	if err := d.pnet.RunInto(out, buf, 1, l.h, l.w, mode); err != nil {
		return candidates{}, buf, fmt.Errorf("cascade: P-Net at %dx%d: %w", l.w, l.h, err)
	}
	var c candidates
	for r := 0; r < out.H; r++ {
		for col := 0; col < out.W; col++ {
			i := r*out.W + col
			if !(out.Prob[i] > threshold) {
				continue
			}
			c.boxes = append(c.boxes, nms.Box{
				float32(2*r+1) / l.scale, float32(2*col+1) / l.scale,
				float32(2*r+12) / l.scale, float32(2*col+12) / l.scale,
			})
			c.scores = append(c.scores, out.Prob[i])
			c.regs = append(c.regs, [4]float32(out.Reg[4*i:4*i+4]))
		}
	}
	return c.gather(nms.Suppress(c.boxes, c.scores, 0.5, 1000)), buf, nil
}

// refine runs R-Net or O-Net on 'size'-pixel crops of every candidate box.
func refine(ctx context.Context, net *nets.Net, img bgrImage, c candidates, mode nets.Mode, sc *scratch) (*nets.Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cascade: %w", err)
	}
	size := net.Kind().InputSize()
	per := size * size * 3
	sc.crops = grow(sc.crops, len(c.boxes)*per)
	batch := sc.crops
	parallel.For(len(c.boxes), 16, len(c.boxes)*per*4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cropAndResize(img, c.boxes[i], size, batch[i*per:(i+1)*per])
		}
	})
	out := &sc.refine
	if err := net.RunInto(out, batch, len(c.boxes), size, size, mode); err != nil {
		return nil, fmt.Errorf("cascade: %v: %w", net.Kind(), err)
	}
	return out, nil
}

// keep returns the candidates scoring strictly above threshold, with the
// net's scores and regressions, and the indices kept.
func keep(c candidates, out *nets.Output, threshold float32) (candidates, []int) {
	var k candidates
	var idx []int
	for i := range c.boxes {
		if out.Prob[i] > threshold {
			k.boxes = append(k.boxes, c.boxes[i])
			k.scores = append(k.scores, out.Prob[i])
			k.regs = append(k.regs, [4]float32(out.Reg[4*i:4*i+4]))
			idx = append(idx, i)
		}
	}
	return k, idx
}

func (d *Detector) stage2(ctx context.Context, img bgrImage, c candidates, threshold float32, mode nets.Mode, sc *scratch) (candidates, error) {
	out, err := refine(ctx, d.rnet, img, c, mode, sc)
	if err != nil {
		return candidates{}, err
	}
	k, _ := keep(c, out, threshold)
	k = k.gather(nms.Suppress(k.boxes, k.scores, 0.7, 1000))
	for i := range k.boxes {
		k.boxes[i] = square(regress(k.boxes[i], k.regs[i]))
	}
	return k, nil
}

func (d *Detector) stage3(ctx context.Context, img bgrImage, c candidates, threshold float32, mode nets.Mode, sc *scratch) ([]Face, error) {
	out, err := refine(ctx, d.onet, img, c, mode, sc)
	if err != nil {
		return nil, err
	}
	k, idx := keep(c, out, threshold)
	faces := make([]Face, len(k.boxes))
	for j, i := range idx {
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
	sel := nms.Suppress(k.boxes, k.scores, 0.6, 1000)
	res := make([]Face, len(sel))
	for n, j := range sel {
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
