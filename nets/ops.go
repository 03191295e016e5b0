package nets

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The MTCNN layers as gorgonia operations. Gorgonia's own Conv2d is NCHW,
// pads pooling symmetrically (TensorFlow's SAME pads the odd pixel at the
// bottom/right only) and has no PReLU; these ops compute exactly what the
// frozen graph's Conv2D+BiasAdd+PReLU(+MaxPool) and Softmax nodes compute,
// in NHWC, on the kernels in kernels.go. They are forward-only: inference
// needs no gradients.

// nhwc returns a 4-d float32 tensor's data and shape.
func nhwc(v gorgonia.Value) ([]float32, shape4, error) {
	t, ok := v.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 || t.Shape().Dims() != 4 {
		return nil, shape4{}, fmt.Errorf("want a 4-d float32 dense tensor, got %v", v)
	}
	sh := t.Shape()
	return t.Float32s(), shape4{sh[0], sh[1], sh[2], sh[3]}, nil
}

// flat returns a float32 tensor's data. Float32s, unlike Data, does not
// allocate.
func flat(v gorgonia.Value) ([]float32, error) {
	t, ok := v.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("want a float32 dense tensor, got %v", v)
	}
	return t.Float32s(), nil
}

// arena is the run-time state one compiled graph's operations share: it
// hands out their output tensors from the shared buffer pool and takes them
// all back once a run's results have been copied out, so steady-state runs
// allocate nothing, and it holds the run's arithmetic mode.
type arena struct {
	bufs []*buffer
	fma  bool // the run uses fused multiply-add (Mode FMA)
}

func (a *arena) alloc(s shape4) *tensor.Dense {
	if a == nil {
		return newTensor(s, make([]float32, s.size()))
	}
	b := getBufFor(s.size(), s)
	a.bufs = append(a.bufs, b)
	return b.tensorOf(s)
}

// release returns every buffer handed out since the last release. Nothing
// may use them afterwards.
func (a *arena) release() {
	for _, b := range a.bufs {
		putBuf(b)
	}
	clear(a.bufs)
	a.bufs = a.bufs[:0]
}

func dimsOf(ds gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := ds.(tensor.Shape)
	if !ok || len(s) != 4 {
		return nil, fmt.Errorf("want a 4-d shape, got %v", ds)
	}
	return s, nil
}

func hashOf(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s.String()))
	return h.Sum32()
}

var (
	tensor4 = gorgonia.TensorType{Dims: 4, Of: gorgonia.Float32}
	tensor1 = gorgonia.TensorType{Dims: 1, Of: gorgonia.Float32}
)

// convOp is a VALID stride-1 convolution with bias and optional PReLU,
// and, when pool.k > 0, the max pool that follows it in the graph, fused:
// the convolution's output then never exists whole (see convPool).
// Inputs: x [N,H,W,Cin], kernel [KH,KW,Cin,Cout], bias [Cout] and, with
// PReLU, alpha [Cout].
type convOp struct {
	kh, kw, cin, cout int
	prelu             bool
	pool              pool
	// heads, when not 0, is the channel count of a 1x1 convolution (the
	// nets' output heads) run on this one's output, fused: two more inputs,
	// its kernel [1,1,Cout,heads] and bias [heads], and this op's own
	// output never exists whole (see convHeads). No pool then.
	heads int
	mem   *arena
}

// outShape returns the op's output shape for an input of shape s.
func (op convOp) outShape(s shape4) shape4 {
	o := shape4{s.n, s.h - op.kh + 1, s.w - op.kw + 1, op.cout}
	if op.pool.k > 0 {
		o, _, _ = op.pool.out(o)
	}
	if op.heads > 0 {
		o.c = op.heads
	}
	return o
}

// inputs lists the types of the op's inputs.
func (op convOp) inputs() []hm.Type {
	in := []hm.Type{tensor4, tensor4, tensor1}
	if op.prelu {
		in = append(in, tensor1)
	}
	if op.heads > 0 {
		in = append(in, tensor4, tensor1)
	}
	return in
}

// Arity counts the inputs as inputs lists them, without making the list:
// Do checks it on every run.
func (op convOp) Arity() int {
	n := 3
	if op.prelu {
		n++
	}
	if op.heads > 0 {
		n += 2
	}
	return n
}

func (op convOp) Type() hm.Type {
	return hm.NewFnType(append(op.inputs(), tensor4)...)
}

func (op convOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := dimsOf(in[0])
	if err != nil {
		return nil, err
	}
	if s[3] != op.cin || s[1] < op.kh || s[2] < op.kw || !op.poolFits(s[1], s[2]) {
		return nil, fmt.Errorf("%v: input shape %v does not fit", op, s)
	}
	o := op.outShape(shape4{s[0], s[1], s[2], s[3]})
	return tensor.Shape{o.n, o.h, o.w, o.c}, nil
}

// poolFits reports whether a VALID pool's window fits the convolution's
// output of an h x w input.
func (op convOp) poolFits(h, w int) bool {
	return op.pool.k == 0 || op.pool.same || (h-op.kh+1 >= op.pool.k && w-op.kw+1 >= op.pool.k)
}

func (op convOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("%v: got %d inputs", op, len(vals))
	}
	x, s, err := nhwc(vals[0])
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	if s.c != op.cin || s.h < op.kh || s.w < op.kw || !op.poolFits(s.h, s.w) {
		return nil, fmt.Errorf("%v: input shape %v does not fit", op, s)
	}
	w, err := flat(vals[1])
	if err != nil {
		return nil, err
	}
	b, err := flat(vals[2])
	if err != nil {
		return nil, err
	}
	next := 3
	var alpha []float32
	if op.prelu {
		if alpha, err = flat(vals[next]); err != nil {
			return nil, err
		}
		next++
	}
	if len(w) != op.kh*op.kw*op.cin*op.cout || len(b) != op.cout || (op.prelu && len(alpha) != op.cout) {
		return nil, fmt.Errorf("%v: weights do not fit", op)
	}
	var hw, hb []float32
	if op.heads > 0 {
		if hw, err = flat(vals[next]); err != nil {
			return nil, err
		}
		if hb, err = flat(vals[next+1]); err != nil {
			return nil, err
		}
		if len(hw) != op.cout*op.heads || len(hb) != op.heads {
			return nil, fmt.Errorf("%v: head weights do not fit", op)
		}
	}
	out := op.mem.alloc(op.outShape(s))
	fma := op.mem != nil && op.mem.fma
	switch {
	case op.heads > 0:
		convHeads(x, s, w, op.kh, op.kw, op.cout, b, alpha, hw, hb, op.heads, out.Float32s(), fma)
	case op.pool.k > 0:
		convPool(x, s, w, op.kh, op.kw, op.cout, b, alpha, op.pool, out.Float32s(), fma)
	default:
		conv2d(x, s, w, op.kh, op.kw, op.cout, b, alpha, out.Float32s(), fma)
	}
	return out, nil
}

func (op convOp) ReturnsPtr() bool      { return false }
func (op convOp) CallsExtern() bool     { return false }
func (op convOp) OverwritesInput() int  { return -1 }
func (op convOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op convOp) Hashcode() uint32      { return hashOf(op) }
func (op convOp) String() string {
	act := ""
	if op.prelu {
		act = "+PReLU"
	}
	if p := op.pool; p.k > 0 {
		pad := "VALID"
		if p.same {
			pad = "SAME"
		}
		act += fmt.Sprintf("+MaxPool%dx%d/%d(%s)", p.k, p.k, p.s, pad)
	}
	if op.heads > 0 {
		act += fmt.Sprintf("+Conv1x1(%d->%d)", op.cout, op.heads)
	}
	return fmt.Sprintf("Conv%dx%d(%d->%d)%s", op.kh, op.kw, op.cin, op.cout, act)
}

// softmaxOp is a softmax over the first c channels of its input: the
// face/non-face pair at the head of the merged heads' output.
type softmaxOp struct {
	c   int
	mem *arena
}

func (op softmaxOp) Arity() int    { return 1 }
func (op softmaxOp) Type() hm.Type { return hm.NewFnType(tensor4, tensor4) }

func (op softmaxOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := dimsOf(in[0])
	if err != nil {
		return nil, err
	}
	if s[3] < op.c {
		return nil, fmt.Errorf("%v: input shape %v has too few channels", op, s)
	}
	return tensor.Shape{s[0], s[1], s[2], op.c}, nil
}

func (op softmaxOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("%v: got %d inputs", op, len(vals))
	}
	x, s, err := nhwc(vals[0])
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	if s.c < op.c || op.c < 1 {
		return nil, fmt.Errorf("%v: input shape %v has too few channels", op, s)
	}
	out := op.mem.alloc(shape4{s.n, s.h, s.w, op.c})
	softmax(x, s.c, out.Float32s(), op.c)
	return out, nil
}

func (op softmaxOp) ReturnsPtr() bool      { return false }
func (op softmaxOp) CallsExtern() bool     { return false }
func (op softmaxOp) OverwritesInput() int  { return -1 }
func (op softmaxOp) WriteHash(h hash.Hash) { h.Write([]byte(op.String())) }
func (op softmaxOp) Hashcode() uint32      { return hashOf(op) }
func (op softmaxOp) String() string        { return fmt.Sprintf("Softmax(%d)", op.c) }
