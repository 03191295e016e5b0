package train

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// The training graphs: each net of the cascade rebuilt from gorgonia's own
// differentiable operations, in NCHW, for a fixed batch of fixed-size
// crops (12, 24 or 48 pixels), with its three losses, differentiated by
// gorgonia.Grad and run by a TapeMachine. The layer structure is
// nets.ArchitectureOf's, shared with the inference graphs; the inference
// executor in package nets is not used here.

// Task weights of the three losses (face, box, landmarks): the MTCNN
// article's 1/0.5/0.5 for P-Net and R-Net and 1/0.5/1 for O-Net. The
// reference model's P-Net and R-Net have no landmark output, so their
// landmark term is absent from the graphs (the weight goes unused).
func taskWeights(k nets.Kind) [3]float64 {
	if k == nets.ONet {
		return [3]float64{1, 0.5, 1}
	}
	return [3]float64{1, 0.5, 0.5}
}

// ErrNotFinite is wrapped by the error a training step returns when a loss
// or a gradient is NaN or infinite: the learning rate is too high, or the
// data is broken. The parameters are left as they were before the step.
var ErrNotFinite = errors.New("loss or gradient is not finite")

// param is one trainable tensor of a graph: its node (gorgonia's layout),
// the weights-file tensor it comes from, and how the two layouts map.
type param struct {
	name  string // weights.Tensor name
	node  *gorgonia.Node
	value *tensor.Dense
	grad  gorgonia.Value // read from the gradient node on every run
	kind  paramKind
	shape []int // the weights file's shape
}

type paramKind uint8

const (
	kernelHWIO paramKind = iota // conv kernel: HWIO in the file, OIHW in the graph
	perChannel                  // bias or PReLU slope: [C] in the file, [1,C,1,1] in the graph
	headMatrix                  // 1x1 head kernel: [1,1,Cin,Cout] in the file, [Cin,Cout] in the graph
	headBias                    // head bias: [C] in the file, [1,C] in the graph
)

// graph is the training graph of one net for one batch size. It is not
// safe for concurrent use.
type graph struct {
	kind  nets.Kind
	dt    tensor.Dtype
	batch int
	size  int

	g  *gorgonia.ExprGraph
	vm gorgonia.VM

	params []*param

	// Inputs, bound once; their backing arrays are overwritten per batch.
	in                     *tensor.Dense // N,3,S,S
	label, valid           *tensor.Dense // N,2 one-hot (zero row: no face loss); N 1/0
	box, boxW              *tensor.Dense // N,4 targets; N weight (1/count or 0)
	lmk, lmkW              *tensor.Dense // N,10 targets; N weight
	ohemRatio              float64
	ohem                   *ohemState
	faceV, boxV, lmkV, cV  gorgonia.Value
	probV, regV, lmV, ceV  gorgonia.Value
	faceLoss, boxLoss, lmL *gorgonia.Node
	cost                   *gorgonia.Node
}

// graphOptions are the choices a graph is built with.
type graphOptions struct {
	dtype     tensor.Dtype // Float32 (training) or Float64 (gradient tests)
	ohemRatio float64      // fraction of the valid face losses kept; 0 or 1: all
}

func dims(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// newGraph builds the training graph of net k for a batch of n crops with
// the weights of m.
func newGraph(m *weights.Model, k nets.Kind, n int, o graphOptions) (gr *graph, err error) {
	if o.dtype != tensor.Float64 {
		o.dtype = tensor.Float32
	}
	if n < 1 {
		return nil, fmt.Errorf("train: batch of %d", n)
	}
	defer func() {
		// Gorgonia reports some shape errors by panicking; no caller
		// should see one.
		if r := recover(); r != nil {
			gr, err = nil, fmt.Errorf("train: building %v graph: %v", k, r)
		}
	}()
	arch := nets.ArchitectureOf(k)
	s := k.InputSize()
	g := gorgonia.NewGraph()
	gr = &graph{kind: k, dt: o.dtype, batch: n, size: s, g: g, ohemRatio: o.ohemRatio, ohem: &ohemState{}}
	newDense := func(shape ...int) *tensor.Dense {
		return tensor.New(tensor.Of(o.dtype), tensor.WithShape(shape...))
	}
	input := func(name string, t *tensor.Dense) *gorgonia.Node {
		return gorgonia.NewTensor(g, o.dtype, t.Dims(), gorgonia.WithName(name), gorgonia.WithShape(t.Shape()...), gorgonia.WithValue(t))
	}
	addParam := func(name string, kind paramKind, gshape ...int) (*gorgonia.Node, error) {
		t := m.Tensor(name)
		if t == nil {
			return nil, fmt.Errorf("train: %v: %w: %q", k, weights.ErrMissingTensor, name)
		}
		if dims(t.Shape) != dims(gshape) {
			return nil, fmt.Errorf("train: %v: %w: %q has shape %v, graph needs %v", k, weights.ErrShape, name, t.Shape, gshape)
		}
		v := newDense(gshape...)
		p := &param{name: name, value: v, kind: kind, shape: append([]int(nil), t.Shape...)}
		p.load(t.Data)
		p.node = gorgonia.NewTensor(g, o.dtype, len(gshape), gorgonia.WithName(name), gorgonia.WithShape(gshape...), gorgonia.WithValue(v))
		gr.params = append(gr.params, p)
		return p.node, nil
	}

	gr.in = newDense(n, 3, s, s)
	x := input("input", gr.in)
	for _, l := range arch.Trunk {
		w, err := addParam(l.Conv+"/weights", kernelHWIO, l.Cout, l.Cin, l.KH, l.KW)
		if err != nil {
			return nil, err
		}
		b, err := addParam(l.Conv+"/biases", perChannel, 1, l.Cout, 1, 1)
		if err != nil {
			return nil, err
		}
		a, err := addParam(l.PReLU+"/weights", perChannel, 1, l.Cout, 1, 1)
		if err != nil {
			return nil, err
		}
		if x, err = newConvPReLU(x, w, b, a, o.dtype); err != nil {
			return nil, fmt.Errorf("train: %v %s: %w", k, l.Conv, err)
		}
		if l.PoolK > 0 {
			if x, err = maxPool(x, l.PoolK, l.PoolS, l.PoolSame); err != nil {
				return nil, fmt.Errorf("train: %v pool after %s: %w", k, l.Conv, err)
			}
		}
	}
	if sh := x.Shape(); len(sh) != 4 || sh[2] != 1 || sh[3] != 1 || sh[1] != arch.HeadIn {
		return nil, fmt.Errorf("train: %v trunk output is %v, want %dx%dx1x1", k, sh, n, arch.HeadIn)
	}
	feat, err := gorgonia.Reshape(x, tensor.Shape{n, arch.HeadIn})
	if err != nil {
		return nil, err
	}
	outs := make([]*gorgonia.Node, len(arch.Heads))
	for i, h := range arch.Heads {
		w, err := addParam(h.Conv+"/weights", headMatrix, arch.HeadIn, h.Cout)
		if err != nil {
			return nil, err
		}
		b, err := addParam(h.Conv+"/biases", headBias, 1, h.Cout)
		if err != nil {
			return nil, err
		}
		mm, err := gorgonia.Mul(feat, w)
		if err != nil {
			return nil, err
		}
		if outs[i], err = gorgonia.BroadcastAdd(mm, b, nil, []byte{0}); err != nil {
			return nil, err
		}
	}

	// Face: cross-entropy of the log-softmax over the two scores. The
	// probability is Exp of the same node: SoftMax and LogSoftMax of one
	// input hash alike in gorgonia and would collapse into one node.
	logp, err := gorgonia.LogSoftMax(outs[0], 1)
	if err != nil {
		return nil, err
	}
	prob, err := gorgonia.Exp(logp)
	if err != nil {
		return nil, err
	}
	gr.label, gr.valid = newDense(n, 2), newDense(n)
	lab, valid := input("label", gr.label), input("valid", gr.valid)
	picked, err := gorgonia.HadamardProd(lab, logp)
	if err != nil {
		return nil, err
	}
	sumPicked, err := gorgonia.Sum(picked, 1)
	if err != nil {
		return nil, err
	}
	ce, err := gorgonia.Neg(sumPicked)
	if err != nil {
		return nil, err
	}
	if gr.faceLoss, err = gorgonia.ApplyOp(&ohemOp{st: gr.ohem, ratio: o.ohemRatio}, ce, valid); err != nil {
		return nil, err
	}

	// Box and landmarks: squared L2 distance per sample, averaged over the
	// samples that have the target (the weights are 1/count or 0).
	gr.box, gr.boxW = newDense(n, 4), newDense(n)
	if gr.boxLoss, err = weightedL2(outs[1], input("box", gr.box), input("boxw", gr.boxW)); err != nil {
		return nil, err
	}
	tw := taskWeights(k)
	terms := []*gorgonia.Node{gr.faceLoss, gr.boxLoss}
	if k == nets.ONet {
		gr.lmk, gr.lmkW = newDense(n, 10), newDense(n)
		if gr.lmL, err = weightedL2(outs[2], input("lmk", gr.lmk), input("lmkw", gr.lmkW)); err != nil {
			return nil, err
		}
		terms = append(terms, gr.lmL)
	}
	var cost *gorgonia.Node
	for i, t := range terms {
		if tw[i] != 1 {
			if t, err = gorgonia.Mul(t, constant(g, o.dtype, tw[i])); err != nil {
				return nil, err
			}
		}
		if cost == nil {
			cost = t
		} else if cost, err = gorgonia.Add(cost, t); err != nil {
			return nil, err
		}
	}
	gr.cost = cost
	wrt := make([]*gorgonia.Node, len(gr.params))
	for i, p := range gr.params {
		wrt[i] = p.node
	}
	grads, err := gorgonia.Grad(cost, wrt...)
	if err != nil {
		return nil, fmt.Errorf("train: %v gradients: %w", k, err)
	}
	// The machine reuses memory in place: every value wanted after a run
	// is read out with Read.
	for i, p := range gr.params {
		gorgonia.Read(grads[i], &p.grad)
	}
	gorgonia.Read(gr.faceLoss, &gr.faceV)
	gorgonia.Read(gr.boxLoss, &gr.boxV)
	if gr.lmL != nil {
		gorgonia.Read(gr.lmL, &gr.lmkV)
	}
	gorgonia.Read(cost, &gr.cV)
	gorgonia.Read(prob, &gr.probV)
	gorgonia.Read(outs[1], &gr.regV)
	if len(outs) > 2 {
		gorgonia.Read(outs[2], &gr.lmV)
	}
	gorgonia.Read(ce, &gr.ceV)
	gr.vm = gorgonia.NewTapeMachine(g)
	return gr, nil
}

func constant(g *gorgonia.ExprGraph, dt tensor.Dtype, v float64) *gorgonia.Node {
	if dt == tensor.Float64 {
		return gorgonia.NewConstant(v)
	}
	return gorgonia.NewConstant(float32(v))
}

// maxPool is TensorFlow's max pool of x (NCHW): VALID, or SAME with the
// odd padding row and column at the bottom and right.
//
// Gorgonia's explicit 4-element padding is {a, b, c, d} where a+b and c+d
// are the total padding of rows and columns but b and d are the padding
// before the first row and column (its pooling loop offsets by them): so
// TensorFlow's SAME padding, before = total/2, after = the rest, is passed
// as {after, before, after, before}, {1,0,1,0} for every SAME pool of the
// MTCNN nets. Padding is never the maximum (the window is clipped to the
// input), as in TensorFlow.
func maxPool(x *gorgonia.Node, k, s int, same bool) (*gorgonia.Node, error) {
	pad := []int{0, 0}
	if same {
		sh := x.Shape()
		ph := samePad(sh[2], k, s)
		pw := samePad(sh[3], k, s)
		if ph[0]+ph[1]+pw[0]+pw[1] > 0 {
			pad = []int{ph[1], ph[0], pw[1], pw[0]}
		}
	}
	return gorgonia.MaxPool2D(x, tensor.Shape{k, k}, pad, []int{s, s})
}

// samePad returns TensorFlow SAME padding (before, after) along a side n.
func samePad(n, k, s int) [2]int {
	out := (n + s - 1) / s
	total := max((out-1)*s+k-n, 0)
	return [2]int{total / 2, total - total/2}
}

// weightedL2 is sum_i w_i * |pred_i - target_i|^2.
func weightedL2(pred, target, w *gorgonia.Node) (*gorgonia.Node, error) {
	d, err := gorgonia.Sub(pred, target)
	if err != nil {
		return nil, err
	}
	sq, err := gorgonia.Square(d)
	if err != nil {
		return nil, err
	}
	per, err := gorgonia.Sum(sq, 1)
	if err != nil {
		return nil, err
	}
	wp, err := gorgonia.HadamardProd(per, w)
	if err != nil {
		return nil, err
	}
	return gorgonia.Sum(wp)
}

// load sets the parameter's graph tensor from weights-file data.
func (p *param) load(src []float32) {
	dst := bufOf(p.value)
	switch p.kind {
	case kernelHWIO:
		kh, kw, ci, co := p.shape[0], p.shape[1], p.shape[2], p.shape[3]
		for h := 0; h < kh; h++ {
			for w := 0; w < kw; w++ {
				for i := 0; i < ci; i++ {
					for o := 0; o < co; o++ {
						dst.set(((o*ci+i)*kh+h)*kw+w, float64(src[((h*kw+w)*ci+i)*co+o]))
					}
				}
			}
		}
	default: // the other layouts are the same order
		for i, v := range src {
			dst.set(i, float64(v))
		}
	}
}

// store writes the parameter back in the weights file's layout, rounded to
// float32.
func (p *param) store() []float32 {
	out := make([]float32, dims(p.shape))
	src := bufOf(p.value)
	switch p.kind {
	case kernelHWIO:
		kh, kw, ci, co := p.shape[0], p.shape[1], p.shape[2], p.shape[3]
		for h := 0; h < kh; h++ {
			for w := 0; w < kw; w++ {
				for i := 0; i < ci; i++ {
					for o := 0; o < co; o++ {
						out[((h*kw+w)*ci+i)*co+o] = float32(src.get(((o*ci+i)*kh+h)*kw + w))
					}
				}
			}
		}
	default:
		for i := range out {
			out[i] = float32(src.get(i))
		}
	}
	return out
}

// buf is a float32 or float64 tensor's backing array, read and written
// as float64 without an allocation per element (tensor.Dense.Data boxes
// its slice in an interface on every call).
type buf struct {
	f32 []float32
	f64 []float64
}

func bufOf(t *tensor.Dense) buf {
	switch d := t.Data().(type) {
	case []float32:
		return buf{f32: d}
	case []float64:
		return buf{f64: d}
	}
	return buf{}
}

func (b buf) set(i int, v float64) {
	if b.f32 != nil {
		b.f32[i] = float32(v)
		return
	}
	b.f64[i] = v
}

func (b buf) get(i int) float64 {
	if b.f32 != nil {
		return float64(b.f32[i])
	}
	return b.f64[i]
}

func setAt(t *tensor.Dense, i int, v float64) { bufOf(t).set(i, v) }

// values returns a value read from the graph as float64s (a copy).
func values(v gorgonia.Value) []float64 {
	switch x := v.(type) {
	case *tensor.Dense:
		switch d := x.Data().(type) {
		case []float32:
			out := make([]float64, len(d))
			for i, f := range d {
				out[i] = float64(f)
			}
			return out
		case []float64:
			return append([]float64(nil), d...)
		case float32:
			return []float64{float64(d)}
		case float64:
			return []float64{d}
		}
	case *gorgonia.F32:
		return []float64{float64(*x)}
	case *gorgonia.F64:
		return []float64{float64(*x)}
	}
	return nil
}

func scalarOf(v gorgonia.Value) float64 {
	if vs := values(v); len(vs) == 1 {
		return vs[0]
	}
	return math.NaN()
}

// run executes the graph once on the bound inputs: forward, losses and
// gradients. Gorgonia's kernels may panic on bad shapes; that is
// returned as an error.
func (gr *graph) run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("train: %v: gorgonia: %v", gr.kind, r)
		}
	}()
	defer gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return fmt.Errorf("train: %v: %w", gr.kind, err)
	}
	return nil
}

// losses returns the last run's face, box and landmark losses and their
// weighted total.
func (gr *graph) losses() (face, box, lmk, total float64) {
	face, box, total = scalarOf(gr.faceV), scalarOf(gr.boxV), scalarOf(gr.cV)
	if gr.lmkV != nil {
		lmk = scalarOf(gr.lmkV)
	}
	return
}

// model returns the graph's current parameters as weights-file tensors,
// replacing those of base.
func (gr *graph) tensors() []*weights.Tensor {
	out := make([]*weights.Tensor, len(gr.params))
	for i, p := range gr.params {
		out[i] = &weights.Tensor{Name: p.name, Shape: append([]int(nil), p.shape...), Data: p.store()}
	}
	return out
}
