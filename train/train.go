package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/score"
	"github.com/mtcnn-go/mtcnn/weights"
)

// Options are the choices of a training run. The zero value of each field
// means its default (see DefaultOptions): defaults that fine-tune the
// embedded model on a few hundred photos in minutes.
type Options struct {
	// Nets are the nets to train, each in turn in cascade order (a later
	// net's samples are mined with the earlier nets as trained). Nil
	// means all three.
	Nets []nets.Kind
	// Epochs is the number of passes over each net's samples. 0 means 3.
	Epochs int
	// BatchSize is the number of samples per step. 0 means 64.
	BatchSize int
	// LearnRate is Adam's step size. 0 means 1e-4 (fine-tuning; training
	// from scratch wants about 1e-3).
	LearnRate float64
	// WeightDecay is the L2 penalty on the kernels. 0 means 5e-4;
	// negative means none.
	WeightDecay float64
	// Clip bounds the gradients' global norm. 0 means 10; negative means
	// no clipping.
	Clip float64
	// OHEMRatio is the fraction of each batch's face losses that count
	// (the hardest). 0 means 0.7; 1 keeps all.
	OHEMRatio float64
	// ValFraction is the fraction of the images held out for validation
	// (at least one when there are two or more). 0 means 0.1; negative
	// means no validation (every epoch's model then counts as the best).
	ValFraction float64
	// MaxSamples caps each net's samples per epoch (a random subset).
	// 0 means 6000.
	MaxSamples int
	// Seed seeds every random choice: the split, the crops, the flips,
	// the order. The same data, options and seed give the same model.
	Seed uint64
	// NoFlip turns off the random horizontal flips of positive, part and
	// landmark samples.
	NoFlip bool
	// Detect are the cascade options for mining and validation. The zero
	// value means cascade's defaults.
	Detect cascade.Options
	// MaxPixels caps the pixels of an input image (see imageio.Limits);
	// 0 means imageio's default.
	MaxPixels int64
	// Progress, when set, is called after each step and at each phase.
	Progress func(Progress)
	// EpochDone, when set, is called after each epoch has been scored,
	// and first with the base model's score (Net -1).
	EpochDone func(Epoch)
	// Checkpoint, when set, is called with each new best model (its
	// metadata filled in), starting with the base model as scored before
	// training. An error stops training.
	Checkpoint func(*weights.Model, Epoch) error
	// Provenance is extra metadata for the written model, such as
	// "base" and "data" (their sources); Train adds the seed, nets,
	// epochs, sample counts and validation scores.
	Provenance map[string]string
}

// DefaultOptions returns the options the zero value stands for.
func DefaultOptions() Options {
	return Options{
		Nets: []nets.Kind{nets.PNet, nets.RNet, nets.ONet}, Epochs: 3, BatchSize: 64, LearnRate: 1e-4,
		WeightDecay: 5e-4, Clip: 10, OHEMRatio: 0.7, ValFraction: 0.1, MaxSamples: 6000,
	}
}

// ErrOptions is wrapped by errors about invalid options.
var ErrOptions = errors.New("invalid training options")

// ErrDiverged is wrapped by the error Train returns when the loss stops
// being finite or grows far beyond its start: the learning rate is too
// high. The result then holds the best model so far.
var ErrDiverged = errors.New("training diverged")

// ErrNoData is wrapped by the error Train returns when no image could be
// used (none decoded, or none left for training).
var ErrNoData = errors.New("no usable training images")

func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.Nets == nil {
		o.Nets = d.Nets
	}
	if o.Epochs == 0 {
		o.Epochs = d.Epochs
	}
	if o.BatchSize == 0 {
		o.BatchSize = d.BatchSize
	}
	if o.LearnRate == 0 {
		o.LearnRate = d.LearnRate
	}
	if o.WeightDecay == 0 {
		o.WeightDecay = d.WeightDecay
	}
	if o.Clip == 0 {
		o.Clip = d.Clip
	}
	if o.OHEMRatio == 0 {
		o.OHEMRatio = d.OHEMRatio
	}
	if o.ValFraction == 0 {
		o.ValFraction = d.ValFraction
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = d.MaxSamples
	}
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case len(o.Nets) == 0:
		return o, fmt.Errorf("%w: no nets to train", ErrOptions)
	case o.Epochs < 0 || o.BatchSize < 1 || o.MaxSamples < 1:
		return o, fmt.Errorf("%w: epochs %d, batch size %d and max samples %d must be positive", ErrOptions, o.Epochs, o.BatchSize, o.MaxSamples)
	case bad(o.LearnRate) || o.LearnRate < 0:
		return o, fmt.Errorf("%w: learning rate %v", ErrOptions, o.LearnRate)
	case bad(o.WeightDecay) || bad(o.Clip) || bad(o.ValFraction):
		return o, fmt.Errorf("%w: weight decay, clip and validation fraction must be finite", ErrOptions)
	case bad(o.OHEMRatio) || o.OHEMRatio < 0 || o.OHEMRatio > 1:
		return o, fmt.Errorf("%w: OHEM ratio %v must be in (0, 1]", ErrOptions, o.OHEMRatio)
	case o.ValFraction >= 1:
		return o, fmt.Errorf("%w: validation fraction %v must be below 1", ErrOptions, o.ValFraction)
	}
	for _, k := range o.Nets {
		if k < nets.PNet || k > nets.ONet {
			return o, fmt.Errorf("%w: unknown net %v", ErrOptions, k)
		}
	}
	o.Nets = slices.Clone(o.Nets)
	slices.Sort(o.Nets)
	o.Nets = slices.Compact(o.Nets)
	return o, o.Detect.Validate()
}

// ParseNets parses a comma-separated list of nets ("pnet,rnet,onet",
// case-insensitive, "p-net" also accepted).
func ParseNets(s string) ([]nets.Kind, error) {
	var out []nets.Kind
	for _, f := range strings.Split(s, ",") {
		switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(f)), "-", "") {
		case "pnet":
			out = append(out, nets.PNet)
		case "rnet":
			out = append(out, nets.RNet)
		case "onet":
			out = append(out, nets.ONet)
		default:
			return nil, fmt.Errorf("%w: unknown net %q (want pnet, rnet, onet)", ErrOptions, f)
		}
	}
	return out, nil
}

// Phase names what a training run is doing.
type Phase string

// The phases Progress reports.
const (
	Loading    Phase = "loading"
	Mining     Phase = "mining"
	Training   Phase = "training"
	Validating Phase = "validating"
)

// Progress is a snapshot of a running training.
type Progress struct {
	Phase         Phase
	Net           nets.Kind
	Epoch, Epochs int // 1-based epoch of the net being trained
	Done, Total   int // samples (training) or images (other phases) done
	SamplesPerSec float64
	// Loss is the running mean of the face, box and landmark losses over
	// the epoch so far.
	Loss [3]float64
}

// Epoch is what one epoch of one net did, and the validation score of the
// whole cascade afterwards. Net is -1 and Epoch 0 for the base model's
// score before training.
type Epoch struct {
	Net           nets.Kind
	Epoch         int
	Samples       int
	Counts        [4]int // samples per class
	SamplesPerSec float64
	Loss          [3]float64 // mean face, box and landmark losses
	Val           score.Result
	Best          bool // the best model so far (by AP, then recall)
}

// Result is what Train returns.
type Result struct {
	// Model is the best model (by validation AP, then recall; the last
	// when there is no validation), with its provenance in its metadata.
	Model   *weights.Model
	History []Epoch
	// Images, Val count the images used for training and validation;
	// the other fields the labels and images that were skipped.
	Images, Val   int
	Undecodable   int
	OutsideImage  int // boxes with no area on their image
	ValTruths     int
	SecondsPerNet map[nets.Kind]float64
}

// loaded is one usable image with its faces.
type loaded struct {
	path  string
	img   image.Image
	faces []Face
}

// load decodes an image and drops the boxes that do not overlap it.
func load(im Image, lim imageio.Limits) (*loaded, int, error) {
	img, _, err := imageio.DecodeFile(im.Path, lim)
	if err != nil {
		return nil, 0, err
	}
	b := img.Bounds()
	W, H := float32(b.Dx()), float32(b.Dy())
	var faces []Face
	outside := 0
	for _, f := range im.Faces {
		x1, y1 := max(f.Box[0], 0), max(f.Box[1], 0)
		x2, y2 := min(f.Box[2], W), min(f.Box[3], H)
		if !(x2 > x1 && y2 > y1) {
			outside++
			continue
		}
		faces = append(faces, f)
	}
	return &loaded{path: im.Path, img: img, faces: faces}, outside, nil
}

// Train fine-tunes the nets of base on the labelled images and returns the
// best model. Images that do not decode and boxes off their image are
// skipped and counted in the result. On cancellation, and when training
// diverges (ErrDiverged), Train returns the best model so far together
// with the error; callers should keep it (Checkpoint has seen it too).
//
// Train holds every image's faces and the current net's samples in memory
// (an O-Net sample is 6.9 kB, so the default cap of 6000 is about 40 MB);
// the images themselves are decoded when needed.
func Train(ctx context.Context, base *weights.Model, labels []Image, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	res := &Result{SecondsPerNet: map[nets.Kind]float64{}}
	r := rand.New(rand.NewPCG(o.Seed, 0x6d74636e6e))
	lim := imageio.Limits{MaxPixels: o.MaxPixels}

	// Check every image once: the ones that do not decode are dropped.
	var usable []Image
	for i, im := range labels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		report(o, Progress{Phase: Loading, Done: i, Total: len(labels)})
		l, outside, err := load(im, lim)
		if err != nil {
			res.Undecodable++
			continue
		}
		res.OutsideImage += outside
		usable = append(usable, Image{Path: im.Path, Faces: l.faces})
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("train: %w: none of %d images decoded", ErrNoData, len(labels))
	}
	r.Shuffle(len(usable), func(i, j int) { usable[i], usable[j] = usable[j], usable[i] })
	nVal := 0
	if o.ValFraction > 0 && len(usable) >= 2 {
		nVal = max(1, int(math.Round(o.ValFraction*float64(len(usable)))))
	}
	val, tr := usable[:nVal], usable[nVal:]
	res.Images, res.Val = len(tr), len(val)
	for _, v := range val {
		res.ValTruths += len(v.Faces)
	}

	cur := base.WithMetadata(nil)
	var best *weights.Model
	bestScore := score.Result{AveragePrecision: -1}
	better := func(s score.Result) bool {
		return s.AveragePrecision > bestScore.AveragePrecision ||
			(s.AveragePrecision == bestScore.AveragePrecision && s.Recall > bestScore.Recall)
	}
	consider := func(m *weights.Model, e Epoch) error {
		if nVal > 0 && !better(e.Val) {
			res.History = append(res.History, e)
			if o.EpochDone != nil {
				o.EpochDone(e)
			}
			return nil
		}
		e.Best = true
		bestScore = e.Val
		res.History = append(res.History, e)
		if o.EpochDone != nil {
			o.EpochDone(e)
		}
		best = m.WithMetadata(provenance(o, res, e))
		if o.Checkpoint != nil {
			if err := o.Checkpoint(best, e); err != nil {
				return fmt.Errorf("train: checkpoint: %w", err)
			}
		}
		return nil
	}
	finish := func(err error) (*Result, error) {
		res.Model = best
		if best == nil {
			res.Model = cur.WithMetadata(provenance(o, res, Epoch{Net: -1}))
		}
		return res, err
	}

	if nVal > 0 {
		s, err := validate(ctx, cur, val, o, lim)
		if err != nil {
			return finish(err)
		}
		if err := consider(cur, Epoch{Net: -1, Val: s}); err != nil {
			return finish(err)
		}
	}
	for _, k := range o.Nets {
		t0 := time.Now()
		next, err := trainNet(ctx, cur, k, tr, val, o, r, lim, consider)
		res.SecondsPerNet[k] = time.Since(t0).Seconds()
		if next != nil {
			cur = next
		}
		if err != nil {
			return finish(err)
		}
	}
	if nVal == 0 && best == nil {
		if err := consider(cur, Epoch{Net: -1}); err != nil {
			return finish(err)
		}
	}
	return finish(nil)
}

func report(o Options, p Progress) {
	if o.Progress != nil {
		o.Progress(p)
	}
}

// provenance is the metadata of a trained model.
func provenance(o Options, res *Result, e Epoch) map[string]string {
	m := map[string]string{}
	for k, v := range o.Provenance {
		m[k] = v
	}
	var names []string
	for _, k := range o.Nets {
		names = append(names, strings.ToLower(strings.ReplaceAll(k.String(), "-", "")))
	}
	m["trainer"] = "mtcnn train"
	m["nets"] = strings.Join(names, ",")
	m["seed"] = strconv.FormatUint(o.Seed, 10)
	m["epochs"] = strconv.Itoa(o.Epochs)
	m["learn_rate"] = strconv.FormatFloat(o.LearnRate, 'g', -1, 64)
	m["images"] = fmt.Sprintf("%d train, %d validation", res.Images, res.Val)
	if e.Net >= 0 {
		m["checkpoint"] = fmt.Sprintf("%v epoch %d", e.Net, e.Epoch)
	} else {
		m["checkpoint"] = "base model (no epoch improved on it)"
	}
	if res.Val > 0 {
		m["val_recall"] = strconv.FormatFloat(e.Val.Recall, 'f', 4, 64)
		m["val_ap"] = strconv.FormatFloat(e.Val.AveragePrecision, 'f', 4, 64)
	}
	return m
}

// validate runs the cascade of model m over the validation images and
// scores its detections at IoU 0.5.
func validate(ctx context.Context, m *weights.Model, val []Image, o Options, lim imageio.Limits) (score.Result, error) {
	det, err := cascade.New(m)
	if err != nil {
		return score.Result{}, err
	}
	dets := make([][]score.Detection, len(val))
	truths := make([][][4]float32, len(val))
	for i, im := range val {
		report(o, Progress{Phase: Validating, Done: i, Total: len(val)})
		l, _, err := load(im, lim)
		if err != nil {
			return score.Result{}, fmt.Errorf("train: validation image %w", err)
		}
		faces, err := det.Detect(ctx, l.img, o.Detect)
		if err != nil {
			return score.Result{}, fmt.Errorf("train: validating on %s: %w", im.Path, err)
		}
		for _, f := range faces {
			dets[i] = append(dets[i], score.Detection{Box: f.Box, Score: f.Score})
		}
		for _, f := range l.faces {
			truths[i] = append(truths[i], f.Box)
		}
	}
	return score.Evaluate(dets, truths, 0.5), nil
}

// Mine makes the samples of net k from the images, as Train does before
// training it: shifted and random crops, and for R-Net and O-Net the
// proposals of model m's earlier stages, balanced 3:1:1:2. Images that do
// not decode are skipped.
func Mine(ctx context.Context, m *weights.Model, k nets.Kind, images []Image, o Options) ([]Sample, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(o.Seed, uint64(k)+1))
	return mineAll(ctx, m, k, images, o, r, imageio.Limits{MaxPixels: o.MaxPixels})
}

func mineAll(ctx context.Context, m *weights.Model, k nets.Kind, images []Image, o Options, r *rand.Rand, lim imageio.Limits) ([]Sample, error) {
	mn := &miner{kind: k, opts: o.Detect, flip: !o.NoFlip}
	if k != nets.PNet {
		det, err := cascade.New(m)
		if err != nil {
			return nil, err
		}
		mn.det = det
	}
	var all []Sample
	for i, im := range images {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		report(o, Progress{Phase: Mining, Net: k, Done: i, Total: len(images)})
		l, _, err := load(im, lim)
		if err != nil {
			continue // counted when the images were first checked
		}
		s, err := mn.mine(ctx, l.img, l.faces, r)
		if err != nil {
			return nil, fmt.Errorf("train: %s: %w", im.Path, err)
		}
		all = append(all, s...)
	}
	return balance(all, r), nil
}

// withParams returns base with the graph's current parameters.
func withParams(base *weights.Model, gr *graph) (*weights.Model, error) {
	repl := map[string]*weights.Tensor{}
	for _, t := range gr.tensors() {
		repl[t.Name] = t
	}
	var ts []*weights.Tensor
	for _, name := range base.Names() {
		if t, ok := repl[name]; ok {
			ts = append(ts, t)
		} else {
			ts = append(ts, base.Tensor(name))
		}
	}
	return weights.NewModel(ts)
}

// divergeFactor: a running loss this many times its first value means
// the run diverged.
const divergeFactor = 50

// trainNet mines net k's samples with model cur, trains it for the
// epochs, and returns the model with the net as trained.
func trainNet(ctx context.Context, cur *weights.Model, k nets.Kind, tr, val []Image, o Options, r *rand.Rand, lim imageio.Limits,
	consider func(*weights.Model, Epoch) error) (*weights.Model, error) {
	samples, err := mineAll(ctx, cur, k, tr, o, r, lim)
	if err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("train: %w: no %v samples", ErrNoData, k)
	}
	batch := min(o.BatchSize, len(samples))
	gr, err := newGraph(cur, k, batch, graphOptions{ohemRatio: o.OHEMRatio})
	if err != nil {
		return nil, err
	}
	opt := newAdam(o.LearnRate, max(o.WeightDecay, 0), max(o.Clip, 0))
	first := math.NaN()
	model := cur
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		r.Shuffle(len(samples), func(i, j int) { samples[i], samples[j] = samples[j], samples[i] })
		use := samples[:min(len(samples), o.MaxSamples)]
		steps := len(use) / batch
		var sum [3]float64
		t0 := time.Now()
		done := 0
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return model, err
			}
			b := use[s*batch : (s+1)*batch]
			if err := gr.bind(b); err != nil {
				return model, err
			}
			if err := gr.run(); err != nil {
				return model, err
			}
			gs, err := gradients(gr)
			if errors.Is(err, ErrNotFinite) {
				return model, fmt.Errorf("train: %w: %v epoch %d step %d: %w", ErrDiverged, k, epoch, s+1, err)
			}
			if err != nil {
				return model, err
			}
			face, box, lmk, total := gr.losses()
			if math.IsNaN(first) {
				first = total
			}
			if total > divergeFactor*max(first, 0.05) {
				return model, fmt.Errorf("train: %w: %v epoch %d step %d: loss %.4g, %.0f times its start (%.4g); lower the learning rate",
					ErrDiverged, k, epoch, s+1, total, total/first, first)
			}
			opt.step(gr.params, gs)
			sum[0] += face
			sum[1] += box
			sum[2] += lmk
			done += batch
			el := time.Since(t0).Seconds()
			report(o, Progress{Phase: Training, Net: k, Epoch: epoch, Epochs: o.Epochs, Done: done, Total: steps * batch,
				SamplesPerSec: float64(done) / el, Loss: [3]float64{sum[0] / float64(s+1), sum[1] / float64(s+1), sum[2] / float64(s+1)}})
		}
		el := time.Since(t0).Seconds()
		m, err := withParams(cur, gr)
		if err != nil {
			// Only a parameter gone non-finite gets here.
			return model, fmt.Errorf("train: %w: %v epoch %d: %w", ErrDiverged, k, epoch, err)
		}
		model = m
		e := Epoch{Net: k, Epoch: epoch, Samples: steps * batch, Counts: Counts(use[:steps*batch])}
		if el > 0 {
			e.SamplesPerSec = float64(e.Samples) / el
		}
		if steps > 0 {
			e.Loss = [3]float64{sum[0] / float64(steps), sum[1] / float64(steps), sum[2] / float64(steps)}
		}
		if len(val) > 0 {
			if e.Val, err = validate(ctx, model, val, o, lim); err != nil {
				return model, err
			}
		}
		if err := consider(model, e); err != nil {
			return model, err
		}
	}
	return model, nil
}
