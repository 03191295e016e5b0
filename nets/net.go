// Package nets holds MTCNN's three networks, P-Net, R-Net and O-Net, built
// as gorgonia graphs from converted weights.
//
// The layers are gorgonia operations (see ops.go) computing exactly what
// the reference TensorFlow graph computes: NHWC float32, VALID convolutions
// with PReLU, TensorFlow's SAME/VALID max pooling and a channel softmax. A
// convolution and the pool after it run as one operation, and so do a
// net's output heads, so that no large intermediate map is written and
// read back; each value is still computed as the reference computes it.
// A Net compiles one graph per input shape and keeps a bounded number of
// them for reuse; a graph runs on a small executor (machine.go) that, with
// the operations' recycled buffers, allocates nothing per pass.
package nets

import (
	"container/list"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/mtcnn-go/mtcnn/weights"
)

// Kind names one of the three networks.
type Kind int

// The three MTCNN networks.
const (
	PNet Kind = iota // proposal net: fully convolutional, any input >= 12x12
	RNet             // refine net: 24x24 crops
	ONet             // output net: 48x48 crops, with landmarks
)

// String returns "P-Net", "R-Net" or "O-Net".
func (k Kind) String() string {
	switch k {
	case PNet:
		return "P-Net"
	case RNet:
		return "R-Net"
	case ONet:
		return "O-Net"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// InputSize returns the side of the square input R-Net and O-Net take
// (24, 48), and P-Net's smallest input side (12).
func (k Kind) InputSize() int {
	switch k {
	case RNet:
		return 24
	case ONet:
		return 48
	}
	return 12
}

// step is one trunk layer: a convolution with PReLU and, when pool.k > 0,
// the max pool that follows it in the reference graph. The two run as one
// op (see convPool).
type step struct {
	conv, prelu string // weight names
	kh, kw      int
	cin, cout   int
	pool        pool
}

func convStep(net, conv, prelu string, k, cin, cout int) step {
	return step{conv: net + "/" + conv, prelu: net + "/" + prelu, kh: k, kw: k, cin: cin, cout: cout}
}

// pooled returns s followed by a k×k max pool at stride st.
func (s step) pooled(k, st int, same bool) step {
	s.pool = pool{k, st, same}
	return s
}

// head is a 1x1 output convolution; the first head of each net is the
// face/non-face pair, followed by a softmax.
type head struct {
	conv string
	cout int
}

type arch struct {
	trunk []step
	heads []head
	cin   int // channels entering the heads
}

func archOf(k Kind) arch {
	switch k {
	case PNet:
		return arch{
			trunk: []step{
				convStep("pnet", "conv1", "PReLU1", 3, 3, 10).pooled(2, 2, false),
				convStep("pnet", "conv2", "PReLU2", 3, 10, 16),
				convStep("pnet", "conv3", "PReLU3", 3, 16, 32),
			},
			heads: []head{{"pnet/conv4-1", 2}, {"pnet/conv4-2", 4}},
			cin:   32,
		}
	case RNet:
		return arch{
			trunk: []step{
				convStep("rnet", "conv1", "prelu1", 3, 3, 28).pooled(3, 2, true),
				convStep("rnet", "conv2", "prelu2", 3, 28, 48).pooled(3, 2, false),
				convStep("rnet", "conv3", "prelu3", 2, 48, 64),
				convStep("rnet", "conv4", "prelu4", 3, 64, 128),
			},
			heads: []head{{"rnet/conv5-1", 2}, {"rnet/conv5-2", 4}},
			cin:   128,
		}
	default:
		return arch{
			trunk: []step{
				convStep("onet", "conv1", "prelu1", 3, 3, 32).pooled(3, 2, true),
				convStep("onet", "conv2", "prelu2", 3, 32, 64).pooled(3, 2, false),
				convStep("onet", "conv3", "prelu3", 3, 64, 64).pooled(2, 2, false),
				convStep("onet", "conv4", "prelu4", 2, 64, 128),
				convStep("onet", "conv5", "prelu5", 3, 128, 256),
			},
			heads: []head{{"onet/conv6-1", 2}, {"onet/conv6-2", 4}, {"onet/conv6-3", 10}},
			cin:   256,
		}
	}
}

// Mode selects the arithmetic of a run.
type Mode uint8

const (
	// Exact rounds every product before adding it, in the reference's
	// order: the reference's outputs, bit for bit, on every platform.
	Exact Mode = iota
	// FMA fuses each multiply and add into one rounding where there are
	// fused multiply-add kernels (amd64 with FMA3, and arm64; elsewhere
	// it runs as Exact). It is faster, and its outputs differ from
	// Exact's by rounding only: by a few 1e-7 on the nets' probabilities
	// and regressions (see TestFMAModeClose). Both platforms compute the
	// same specification (gemmSegGenericFMA), so they give each other's
	// bits.
	FMA
)

// String returns "exact" or "fma".
func (m Mode) String() string {
	switch m {
	case Exact:
		return "exact"
	case FMA:
		return "fma"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// FMAAvailable reports whether this build and CPU have the fused
// multiply-add kernels Mode FMA uses.
func FMAAvailable() bool { return hasFMA && gemmKernel != "generic" }

// ErrInput is wrapped by errors about an input a net cannot take.
var ErrInput = errors.New("invalid network input")

// Output is what a net computes for a batch: for every output cell (one per
// image for R-Net and O-Net, a map for P-Net), the face probability (the
// softmax's channel 1), the four box regressions (y1, x1, y2, x2) and, for
// O-Net, ten landmark offsets (y of five points, then x of five).
type Output struct {
	N, H, W   int // batch size and output map size
	Prob      []float32
	Reg       []float32
	Landmarks []float32

	// inputs are the tensors the last runs into this Output wrapped their
	// inputs in, reused when a run's input is the same slice as one of
	// theirs: the cascade runs from reused scratch buffers, and a large
	// batch runs its chunks from the same slices of it each time.
	inputs    [16]*tensor.Dense
	nextInput int
}

// input returns a tensor of shape s over data.
func (o *Output) input(data []float32, s shape4) *tensor.Dense {
	for _, x := range o.inputs {
		if x != nil && sameSlice(x.Float32s(), data) && s.of(x) {
			return x
		}
	}
	x := newTensor(s, data)
	o.inputs[o.nextInput] = x
	o.nextInput = (o.nextInput + 1) % len(o.inputs)
	return x
}

// Net is one compiled network. It is safe for concurrent use: each call
// runs on a graph of its own, taken from a bounded cache of compiled graphs
// keyed by input shape.
type Net struct {
	kind  Kind
	arch  arch
	model *weights.Model
	// headW and headB are the heads' 1x1 kernels and biases side by side
	// (cin x sum of couts): the heads run as one convolution, whose
	// columns are computed independently, so each is what it would be
	// alone.
	headW, headB []float32

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recent first
	byKey map[shape4]*list.Element
	// maxShapes bounds the distinct input shapes kept compiled, maxIdle
	// the idle graphs kept per shape.
	maxShapes, maxIdle int
}

type cacheEntry struct {
	key  shape4
	idle []*program
}

// program is one compiled graph with its input and output nodes.
type program struct {
	mem  *arena
	g    *gorgonia.ExprGraph
	m    *machine
	in   *gorgonia.Node
	outs []*gorgonia.Node
}

// DefaultCacheShapes is the number of distinct input shapes a Net keeps
// compiled: enough for the pyramid levels of a few image sizes.
const DefaultCacheShapes = 64

// New returns the network of the given kind with the model's weights,
// checking that the model holds every tensor the net needs.
func New(m *weights.Model, k Kind) (*Net, error) {
	if k < PNet || k > ONet {
		return nil, fmt.Errorf("nets: unknown kind %d", int(k))
	}
	a := archOf(k)
	var names []string
	for _, s := range a.trunk {
		names = append(names, s.conv+"/weights", s.conv+"/biases", s.prelu+"/weights")
	}
	for _, h := range a.heads {
		names = append(names, h.conv+"/weights", h.conv+"/biases")
	}
	for _, name := range names {
		if m.Tensor(name) == nil {
			return nil, fmt.Errorf("nets: %v: %w: %q", k, weights.ErrMissingTensor, name)
		}
	}
	var headCout int
	for _, h := range a.heads {
		headCout += h.cout
	}
	headW := make([]float32, a.cin*headCout)
	var headB []float32
	col := 0
	for _, h := range a.heads {
		w, b := m.Tensor(h.conv+"/weights"), m.Tensor(h.conv+"/biases")
		if len(w.Data) != a.cin*h.cout || len(b.Data) != h.cout {
			return nil, fmt.Errorf("nets: %v: %s has %d weights and %d biases, want %d and %d", k, h.conv, len(w.Data), len(b.Data), a.cin*h.cout, h.cout)
		}
		for i := 0; i < a.cin; i++ {
			copy(headW[i*headCout+col:], w.Data[i*h.cout:(i+1)*h.cout])
		}
		headB = append(headB, b.Data...)
		col += h.cout
	}
	return &Net{
		kind: k, arch: a, model: m, headW: headW, headB: headB,
		lru: list.New(), byKey: map[shape4]*list.Element{},
		maxShapes: DefaultCacheShapes, maxIdle: runtime.GOMAXPROCS(0),
	}, nil
}

// Kind returns which network n is.
func (n *Net) Kind() Kind { return n.kind }

// Run runs the net on a batch of images in NHWC layout, BGR channels,
// normalised as the reference does ((pixel - 127.5) / 128). R-Net and
// O-Net take 24x24 and 48x48 images; P-Net any size of at least 12x12 and
// a batch of one.
func (n *Net) Run(data []float32, batch, h, w int) (*Output, error) {
	return n.RunMode(data, batch, h, w, Exact)
}

// RunMode is Run with the given arithmetic mode.
func (n *Net) RunMode(data []float32, batch, h, w int, mode Mode) (*Output, error) {
	out := new(Output)
	if err := n.RunInto(out, data, batch, h, w, mode); err != nil {
		return nil, err
	}
	return out, nil
}

// RunInto is RunMode writing into out, whose slices it reuses when they
// have the capacity: a caller running a net repeatedly can keep one Output
// and allocate nothing for the results. Run again on the same input slice,
// RunInto allocates nothing at all; out keeps a reference to the last few
// inputs for that. On error out's contents are unspecified.
func (n *Net) RunInto(out *Output, data []float32, batch, h, w int, mode Mode) error {
	if mode != Exact && mode != FMA {
		return fmt.Errorf("%w: %v: unknown %v", ErrInput, n.kind, mode)
	}
	key := shape4{batch, h, w, 3}
	if err := n.checkInput(key, len(data)); err != nil {
		return err
	}
	if n.kind == PNet {
		return n.runBands(out, data, h, w, mode)
	}
	// Batches run in power-of-two chunks, largest first, so a few compiled
	// shapes serve every batch size without padding.
	out.reset(batch, 1, 1, n.kind == ONet)
	per := h * w * 3
	for done := 0; done < batch; {
		chunk := min(n.maxChunk(), 1<<(bits.Len(uint(batch-done))-1))
		if err := n.runShape(out, done, data[done*per:(done+chunk)*per], shape4{chunk, h, w, 3}, mode); err != nil {
			return err
		}
		done += chunk
	}
	return nil
}

// reset sizes o for n maps of h x w cells, reusing its slices' capacity.
func (o *Output) reset(n, h, w int, landmarks bool) {
	cells := n * h * w
	o.N, o.H, o.W = n, h, w
	o.Prob = resize(o.Prob, cells)
	o.Reg = resize(o.Reg, 4*cells)
	o.Landmarks = o.Landmarks[:0]
	if landmarks {
		o.Landmarks = resize(o.Landmarks, 10*cells)
	}
}

func resize(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// bandPixels bounds the input pixels P-Net processes at once. Larger images
// run in horizontal bands, so the memory a pyramid level needs does not grow
// with the image.
const bandPixels = 1 << 18

// pnetOut returns P-Net's output size along an input side of n >= 12:
// conv 3x3, pool 2x2 VALID, conv 3x3, conv 3x3.
func pnetOut(n int) int { return (n-2)/2 - 4 }

// runBands runs P-Net over a large input in bands of output rows. Output
// rows [r0, r1) depend exactly on input rows [2*r0, 2*r1+10); a band
// starting on an even row keeps the 2x2 pooling grid, so every output is
// computed from the same inputs, in the same order, as in one pass.
func (n *Net) runBands(out *Output, data []float32, h, w int, mode Mode) error {
	oh, ow := pnetOut(h), pnetOut(w)
	out.reset(1, oh, ow, false)
	band := max(1, (bandPixels/w-10)/2) // output rows per band
	for r0 := 0; r0 < oh; r0 += band {
		r1 := min(r0+band, oh)
		end := 2*r1 + 10
		if r1 == oh {
			end = h // the whole rest: one pass over a small input sees all of it
		}
		in := data[2*r0*w*3 : end*w*3]
		// Output cells are numbered row by row, so band r0 starts at cell
		// r0*ow, as a batch chunk starts at its first image.
		if err := n.runShape(out, r0*ow, in, shape4{1, len(in) / (w * 3), w, 3}, mode); err != nil {
			return err
		}
	}
	return nil
}

// maxChunk is the largest batch the net runs as one graph: large enough to
// amortise a run, small enough that the first layer's pooled output (the
// largest) stays at a few megabytes (R-Net 3.5 MB, O-Net 4.3 MB).
func (n *Net) maxChunk() int {
	if n.kind == ONet {
		return 64
	}
	return 256
}

// runShape runs the graph for one input shape and writes its outputs into
// out from cell at on.
func (n *Net) runShape(out *Output, at int, data []float32, key shape4, mode Mode) error {
	p, err := n.get(key)
	if err != nil {
		return err
	}
	p.mem.fma = mode == FMA
	err = p.run(out, at, data, key)
	// A failed graph is not reused: its state is unknown.
	if err == nil {
		n.put(key, p)
	}
	return err
}

func (n *Net) checkInput(s shape4, got int) error {
	in := n.kind.InputSize()
	switch {
	case s.n < 1 || s.h < 1 || s.w < 1:
		return fmt.Errorf("%w: %v: empty batch %dx%dx%d", ErrInput, n.kind, s.n, s.h, s.w)
	case n.kind == PNet && (s.h < in || s.w < in):
		return fmt.Errorf("%w: %v: input %dx%d is smaller than %dx%d", ErrInput, n.kind, s.h, s.w, in, in)
	case n.kind == PNet && s.n != 1:
		return fmt.Errorf("%w: %v: batch of %d, want 1", ErrInput, n.kind, s.n)
	case n.kind != PNet && (s.h != in || s.w != in):
		return fmt.Errorf("%w: %v: input %dx%d, want %dx%d", ErrInput, n.kind, s.h, s.w, in, in)
	case got != s.size():
		return fmt.Errorf("%w: %v: %d values for shape %dx%dx%dx3", ErrInput, n.kind, got, s.n, s.h, s.w)
	}
	return nil
}

func (n *Net) get(key shape4) (*program, error) {
	n.mu.Lock()
	if el, ok := n.byKey[key]; ok {
		n.lru.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		if k := len(e.idle); k > 0 {
			p := e.idle[k-1]
			e.idle = e.idle[:k-1]
			n.mu.Unlock()
			return p, nil
		}
	}
	n.mu.Unlock()
	return n.compile(key)
}

func (n *Net) put(key shape4, p *program) {
	n.mu.Lock()
	defer n.mu.Unlock()
	el, ok := n.byKey[key]
	if !ok {
		el = n.lru.PushFront(&cacheEntry{key: key})
		n.byKey[key] = el
		for n.lru.Len() > n.maxShapes {
			old := n.lru.Back()
			n.lru.Remove(old)
			delete(n.byKey, old.Value.(*cacheEntry).key)
		}
	}
	e := el.Value.(*cacheEntry)
	if len(e.idle) < n.maxIdle {
		e.idle = append(e.idle, p)
	}
}

// compile builds the gorgonia graph of the net for one input shape.
func (n *Net) compile(key shape4) (p *program, err error) {
	g := gorgonia.NewGraph()
	mem := &arena{}
	param := func(name string, shape ...int) *gorgonia.Node {
		t := n.model.Tensor(name)
		return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithName(name), gorgonia.WithShape(shape...),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(t.Data))))
	}
	in := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithName("input"), gorgonia.WithShape(key.n, key.h, key.w, key.c))
	x := in
	// The last convolution runs with the heads fused: its output only
	// ever feeds them.
	hc := len(n.headB)
	trunk := n.arch.trunk
	for i, s := range trunk {
		op := convOp{kh: s.kh, kw: s.kw, cin: s.cin, cout: s.cout, prelu: true, pool: s.pool, mem: mem}
		in := []*gorgonia.Node{x, param(s.conv+"/weights", s.kh, s.kw, s.cin, s.cout), param(s.conv+"/biases", s.cout),
			param(s.prelu+"/weights", s.cout)}
		if i == len(trunk)-1 {
			op.heads = hc
			in = append(in,
				gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithName("heads/weights"), gorgonia.WithShape(1, 1, n.arch.cin, hc),
					gorgonia.WithValue(tensor.New(tensor.WithShape(1, 1, n.arch.cin, hc), tensor.WithBacking(n.headW)))),
				gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithName("heads/biases"), gorgonia.WithShape(hc),
					gorgonia.WithValue(tensor.New(tensor.WithShape(hc), tensor.WithBacking(n.headB)))))
		}
		if x, err = gorgonia.ApplyOp(op, in...); err != nil {
			return nil, fmt.Errorf("nets: building %v for %dx%d: %w", n.kind, key.h, key.w, err)
		}
	}
	heads := x
	// The softmax over the first head's two channels.
	prob, err := gorgonia.ApplyOp(softmaxOp{c: n.arch.heads[0].cout, mem: mem}, heads)
	if err != nil {
		return nil, fmt.Errorf("nets: building %v softmax: %w", n.kind, err)
	}
	outs := []*gorgonia.Node{prob, heads}
	m, err := newMachine(g, in, outs...)
	if err != nil {
		return nil, fmt.Errorf("nets: compiling %v: %w", n.kind, err)
	}
	return &program{mem: mem, g: g, m: m, in: in, outs: outs}, nil
}

// run executes the program on one input and copies its outputs into out
// from cell at on, then drops the intermediate values so an idle cached
// graph holds no buffers.
func (p *program) run(out *Output, at int, data []float32, key shape4) error {
	defer func() {
		p.m.reset()
		p.mem.release()
	}()
	if err := p.m.run(out.input(data, key)); err != nil {
		return fmt.Errorf("nets: %v: %w", key, err)
	}
	pd := p.m.out(0).(*tensor.Dense).Float32s()
	cells := len(pd) / 2
	if at+cells > len(out.Prob) {
		return fmt.Errorf("nets: %d output cells from %d, want at most %d", cells, at, len(out.Prob))
	}
	prob := out.Prob[at : at+cells]
	for i := range prob {
		prob[i] = pd[2*i+1]
	}
	// The heads' channels: 2 scores, 4 regressions, then 10 landmarks.
	hd := p.m.out(1).(*tensor.Dense).Float32s()
	hc := len(hd) / cells
	reg := out.Reg[4*at : 4*(at+cells)]
	for i := 0; i < cells; i++ {
		copy(reg[4*i:4*i+4], hd[i*hc+2:])
	}
	if hc > 6 {
		lm := out.Landmarks[10*at : 10*(at+cells)]
		for i := 0; i < cells; i++ {
			copy(lm[10*i:10*i+10], hd[i*hc+6:])
		}
	}
	return nil
}

// sameSlice reports whether a and b are the same slice: same start, same
// length.
func sameSlice(a, b []float32) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
