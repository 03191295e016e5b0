package onnxmodel

import (
	"fmt"
	"slices"
	"strings"

	"gorgonia.org/tensor"
)

// The recorded graph is interpreted symbolically, in node order, from the
// graph input to the outputs. Every value is classified: a constant, a
// feature map (4-d, with the physical order of its N, C, H, W axes), a map
// flattened per item, a vector [N, C], or a small integer list computed
// from shapes (for PyTorch's Reshape subgraphs). The linear layers, PReLUs,
// pools and softmaxes applied to the input are kept as a chain per value;
// the outputs' chains give the trunk and heads that identify the net.

type vkind int

const (
	vNone  vkind = iota
	vConst       // a constant tensor
	vMap         // the input image or a feature map
	vFlat        // a feature map flattened per item: [N, C*H*W]
	vVec         // [N, C]
	vSym         // integers computed from shapes
	vDead        // a value that must not be used (MaxPool indices, Dropout mask)
)

// Logical axes of a feature map.
const (
	axN = iota
	axC
	axH
	axW
)

var nchw = [4]int{axN, axC, axH, axW}

type value struct {
	kind vkind
	ct   *constT

	last *layer // layers applied so far; nil for the graph input
	// perm[j] is the logical axis at physical position j (vMap; for vFlat
	// the order the map had when flattened).
	perm [4]int
	c    int // channels
	// Graph-input state: 0 nothing seen, 1 after -127.5, 2 normalised;
	// needCast for a uint8 input before Cast.
	norm     int
	needCast bool
	flatK    int // vFlat: the size a Reshape claimed, 0 if unknown

	sym    []symInt // vSym
	scalar bool     // vSym: a scalar rather than a list
}

// constT is a constant tensor, float or integer.
type constT struct {
	shape []int
	f     []float32
	i     []int64
	isInt bool
}

func (c *constT) size() int { return product(c.shape) }

type symKind int

const (
	symKnown symKind = iota
	symBatch
	symUnknown
)

type symInt struct {
	kind symKind
	v    int64
}

type layerType int

const (
	lConv layerType = iota
	lFC
	lPRelu
	lPool
	lSoftmax
)

// layer is one recognised layer. Layers are immutable and shared by the
// values computed from them.
type layer struct {
	parent *layer
	typ    layerType
	node   string // output name of the ONNX node, for messages

	cin, cout int
	kh, kw    int       // lConv
	w, b      []float32 // lConv: OIHW; lFC: [cout][cin]
	fromMap   bool      // lFC: input was a flattened map
	mapPerm   [4]int    // lFC from a map: its physical axis order
	mapC      int       // lFC from a map: its channels
	flatK     int       // lFC from a map: size a Reshape claimed, or 0
	slope     []float32 // lPRelu
	pool      poolAttrs // lPool
}

func (l *layer) linear() bool { return l != nil && (l.typ == lConv || l.typ == lFC) }

// poolAttrs are an ONNX MaxPool's attributes, per spatial axis (0 = H).
type poolAttrs struct {
	k, s        [2]int
	padB, padE  [2]int
	autoPad     string
	ceil        bool
	description string
}

// interpreted is the result of interpreting a graph.
type interpreted struct {
	outputs []*value
	names   []string
	notes   []string
}

type interp struct {
	si    *scanInfo
	vals  map[int64]*value
	notes []string
	opset int64
}

func interpret(rec *recorder, si *scanInfo, inputIDs, outputIDs []int64) (*interpreted, error) {
	it := &interp{si: si, vals: map[int64]*value{}, opset: si.opset}
	if !si.hasOpset {
		it.opset = 1
	}
	written := map[int64]bool{}
	for _, o := range rec.ops {
		for _, out := range o.out {
			if written[out.id] {
				return nil, fmt.Errorf("%w: value %q is written by two nodes", ErrFormat, out.name)
			}
			written[out.id] = true
		}
	}
	var image []*gnode
	for _, id := range inputIDs {
		n := rec.nodes[id]
		if si.inits[n.name] || written[id] {
			continue
		}
		image = append(image, n)
	}
	if len(image) != 1 {
		names := make([]string, len(image))
		for i, n := range image {
			names[i] = n.name
		}
		return nil, fmt.Errorf("%w: graph has %d inputs %q; want one image input [N, 3, H, W]", ErrTopology, len(image), names)
	}
	in, err := it.inputValue(image[0])
	if err != nil {
		return nil, err
	}
	it.vals[image[0].id] = in
	for _, n := range rec.nodes {
		if si.inits[n.name] && !written[n.id] && n.t != nil {
			c, err := constOf(n.t)
			if err != nil {
				return nil, fmt.Errorf("%w: initializer %q: %w", ErrFormat, n.name, err)
			}
			it.vals[n.id] = &value{kind: vConst, ct: c}
		}
	}
	for i := range rec.ops {
		if err := it.apply(&rec.ops[i]); err != nil {
			return nil, err
		}
	}
	res := &interpreted{notes: it.notes}
	for _, id := range outputIDs {
		n := rec.nodes[id]
		v := it.vals[id]
		if v == nil || (v.kind != vMap && v.kind != vVec && v.kind != vFlat) || v.last == nil {
			return nil, fmt.Errorf("%w: output %q is not computed from the input by the net's layers", ErrTopology, n.name)
		}
		res.outputs = append(res.outputs, v)
		res.names = append(res.names, n.name)
	}
	return res, nil
}

// inputValue classifies the graph input from its declared type.
func (it *interp) inputValue(n *gnode) (*value, error) {
	v := &value{kind: vMap, perm: nchw, c: 3}
	d, ok := it.si.inputs[n.name]
	if !ok {
		return v, nil
	}
	switch d.elem {
	case dtFloat, 0:
	case dtUint8:
		v.needCast = true
	default:
		return nil, fmt.Errorf("%w: input %q has element type %d; want float32 (or uint8 then Cast)", ErrUnsupported, n.name, d.elem)
	}
	if !d.hasShape {
		return v, nil
	}
	show := dimsString(d.dims)
	if len(d.dims) != 4 {
		return nil, fmt.Errorf("%w: input %q has shape %s; want [N, 3, H, W]", ErrTopology, n.name, show)
	}
	switch {
	case d.dims[1] == 3 || (d.dims[1] == -1 && d.dims[3] != 3):
	case d.dims[3] == 3:
		v.perm = [4]int{axN, axH, axW, axC}
	default:
		return nil, fmt.Errorf("%w: input %q has shape %s: %d channels; want 3 ([N, 3, H, W])", ErrTopology, n.name, show, d.dims[1])
	}
	return v, nil
}

func dimsString(d []int64) string {
	parts := make([]string, len(d))
	for i, x := range d {
		if x < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(x)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// constOf converts a decoded tensor.
func constOf(t tensor.Tensor) (*constT, error) {
	c := &constT{shape: append([]int(nil), t.Shape()...)}
	switch d := t.Data().(type) {
	case []float32:
		c.f = append([]float32(nil), d...)
	case float32:
		c.f = []float32{d}
	case []float64:
		for _, x := range d {
			c.f = append(c.f, float32(x))
		}
	case float64:
		c.f = []float32{float32(d)}
	case []int64:
		c.i, c.isInt = append([]int64(nil), d...), true
	case int64:
		c.i, c.isInt = []int64{d}, true
	case []int32:
		for _, x := range d {
			c.i = append(c.i, int64(x))
		}
		c.isInt = true
	case int32:
		c.i, c.isInt = []int64{int64(d)}, true
	default:
		return nil, fmt.Errorf("element type %v", t.Dtype())
	}
	n := len(c.f)
	if c.isInt {
		n = len(c.i)
	}
	if n != c.size() {
		return nil, fmt.Errorf("%d values for shape %v", n, c.shape)
	}
	return c, nil
}

const supportedOps = "Conv, PRelu, MaxPool, Softmax, Gemm, MatMul, Add, Sub, Mul, Div, Flatten, Reshape, Transpose, " +
	"Identity, Dropout, Cast, Constant, Shape, Gather, Unsqueeze, Concat, Slice"

func (it *interp) apply(o *op) error {
	name := o.out[0].name
	fail := func(sentinel error, format string, a ...any) error {
		return fmt.Errorf("%w: %s node %q: %s", sentinel, o.typ, name, fmt.Sprintf(format, a...))
	}
	if !slices.Contains(strings.Split(supportedOps, ", "), o.typ) {
		return fail(ErrUnsupported, "operator %s is not part of an MTCNN network (supported: %s)", o.typ, supportedOps)
	}
	in := func(i int) *value {
		if i >= len(o.in) || o.in[i].name == "" {
			return nil
		}
		return it.vals[o.in[i].id]
	}
	for i, n := range o.in {
		if o.typ == "Constant" || n.name == "" {
			continue
		}
		v := it.vals[n.id]
		if v == nil {
			return fail(ErrFormat, "input %d %q is not defined before use", i, n.name)
		}
		if v.kind == vDead {
			return fail(ErrUnsupported, "uses %q (pooling indices or a dropout mask)", n.name)
		}
	}
	need := func(k int) error {
		if len(o.in) < k {
			return fail(ErrFormat, "has %d inputs, needs %d", len(o.in), k)
		}
		for i := range k {
			if in(i) == nil {
				return fail(ErrFormat, "input %d is missing", i)
			}
		}
		return nil
	}
	set := func(v *value) {
		it.vals[o.out[0].id] = v
		for _, extra := range o.out[1:] {
			it.vals[extra.id] = &value{kind: vDead}
		}
	}
	a := attrs(o.attrs)
	switch o.typ {
	case "Constant":
		c, err := a.constant()
		if err != nil {
			return fail(ErrFormat, "%v", err)
		}
		set(&value{kind: vConst, ct: c})
		return nil
	case "Identity", "Dropout":
		if err := need(1); err != nil {
			return err
		}
		v := *in(0)
		set(&v)
		return nil
	case "Cast":
		if err := need(1); err != nil {
			return err
		}
		return it.cast(a, in(0), set, fail)
	case "Add", "Sub", "Mul", "Div":
		if err := need(2); err != nil {
			return err
		}
		return it.arith(o, in(0), in(1), set, fail)
	case "Conv":
		if err := need(2); err != nil {
			return err
		}
		return it.conv(a, in(0), in(1), in(2), set, fail, name)
	case "PRelu":
		if err := need(2); err != nil {
			return err
		}
		return it.prelu(in(0), in(1), set, fail, name)
	case "MaxPool":
		if err := need(1); err != nil {
			return err
		}
		return it.maxPool(a, in(0), set, fail, name)
	case "Transpose":
		if err := need(1); err != nil {
			return err
		}
		return it.transpose(a, in(0), set, fail)
	case "Flatten":
		if err := need(1); err != nil {
			return err
		}
		return it.flatten(a, in(0), set, fail)
	case "Reshape":
		if err := need(2); err != nil {
			return err
		}
		return it.reshape(in(0), in(1), set, fail)
	case "Gemm":
		if err := need(2); err != nil {
			return err
		}
		return it.gemm(a, in(0), in(1), in(2), set, fail, name)
	case "MatMul":
		if err := need(2); err != nil {
			return err
		}
		return it.matmul(in(0), in(1), set, fail, name)
	case "Softmax":
		if err := need(1); err != nil {
			return err
		}
		return it.softmax(a, in(0), set, fail, name)
	case "Shape", "Gather", "Unsqueeze", "Concat", "Slice":
		return it.shapeOp(o, a, in, set, fail)
	}
	return fail(ErrUnsupported, "operator %s is not part of an MTCNN network (supported: %s)", o.typ, supportedOps)
}

type setFunc func(*value)
type failFunc func(sentinel error, format string, a ...any) error

func (it *interp) cast(a attrs, x *value, set setFunc, fail failFunc) error {
	to, _ := a.int("to", 0)
	v := *x
	switch {
	case x.kind == vMap && to == dtFloat:
		v.needCast = false
	case x.kind == vSym && to == dtInt64:
	case x.kind == vConst && to == dtFloat:
		c := *x.ct
		if c.isInt {
			c.f = make([]float32, len(c.i))
			for i, n := range c.i {
				c.f[i] = float32(n)
			}
			c.i, c.isInt = nil, false
		}
		v.ct = &c
	case x.kind == vConst && to == dtInt64 && x.ct.isInt:
	default:
		return fail(ErrUnsupported, "cast to element type %d", to)
	}
	set(&v)
	return nil
}

// uniform returns the single value of a float constant whose elements are
// all equal.
func uniform(c *constT) (float32, bool) {
	if c == nil || c.isInt || len(c.f) == 0 || len(c.shape) > 4 {
		return 0, false
	}
	for _, x := range c.f {
		if x != c.f[0] {
			return 0, false
		}
	}
	return c.f[0], true
}

func (it *interp) arith(o *op, x, y *value, set setFunc, fail failFunc) error {
	commutative := o.typ == "Add" || o.typ == "Mul"
	if x.kind == vConst && commutative {
		x, y = y, x
	}
	if y.kind != vConst || (x.kind != vMap && x.kind != vVec) {
		return fail(ErrUnsupported, "%s of a %s and a %s; only a constant added to a layer's output "+
			"(a bias) or the input normalisation is supported", o.typ, kindName(x.kind), kindName(y.kind))
	}
	v := *x
	if x.last == nil && x.kind == vMap {
		if x.needCast {
			return fail(ErrUnsupported, "arithmetic on the uint8 input before Cast")
		}
		c, ok := uniform(y.ct)
		if !ok {
			return fail(ErrUnsupported, "input normalisation %s by a non-uniform constant %v; want Sub 127.5 then Mul 0.0078125 (or Div 128)", o.typ, y.ct.shape)
		}
		switch {
		case x.norm == 0 && (o.typ == "Sub" && c == 127.5 || o.typ == "Add" && c == -127.5):
			v.norm = 1
		case x.norm == 1 && (o.typ == "Mul" && c == 0.0078125 || o.typ == "Div" && c == 128):
			v.norm = 2
		default:
			return fail(ErrUnsupported, "input normalisation %s %v; want (x - 127.5) * 0.0078125, as Sub 127.5 then Mul 0.0078125 or Div 128", o.typ, c)
		}
		set(&v)
		return nil
	}
	if o.typ != "Add" || !x.last.linear() || x.last.b != nil {
		return fail(ErrUnsupported, "%s of a constant after %s; only a bias added to a Conv, Gemm or MatMul without one is supported", o.typ, x.last.describe())
	}
	b, err := channelVector(y.ct, x, x.last.cout)
	if err != nil {
		return fail(ErrUnsupported, "bias: %v", err)
	}
	l := *x.last
	l.b = b
	v.last = &l
	set(&v)
	return nil
}

// channelVector returns a constant that broadcasts along the channel axis of
// x as one value per channel: its shape, aligned to the right with x's
// physical shape, is 1 everywhere but at the channel axis. A single value
// is repeated.
func channelVector(c *constT, x *value, ch int) ([]float32, error) {
	if c.isInt {
		return nil, fmt.Errorf("integer constant")
	}
	if len(c.f) == 1 {
		out := make([]float32, ch)
		for i := range out {
			out[i] = c.f[0]
		}
		return out, nil
	}
	rank, cpos := 2, 1
	if x.kind == vMap {
		rank = 4
		cpos = slices.Index(x.perm[:], axC)
	}
	if len(c.shape) > rank {
		return nil, fmt.Errorf("shape %v has more axes than the %d-d value", c.shape, rank)
	}
	for j, d := range c.shape {
		pos := rank - len(c.shape) + j
		if pos == cpos {
			if d != ch {
				return nil, fmt.Errorf("shape %v gives %d channels; want %d", c.shape, d, ch)
			}
		} else if d != 1 {
			return nil, fmt.Errorf("shape %v does not broadcast along the channel axis only", c.shape)
		}
	}
	if len(c.f) != ch {
		return nil, fmt.Errorf("shape %v does not reach the channel axis", c.shape)
	}
	return append([]float32(nil), c.f...), nil
}

func kindName(k vkind) string {
	switch k {
	case vConst:
		return "constant"
	case vMap:
		return "feature map"
	case vFlat:
		return "flattened map"
	case vVec:
		return "vector"
	case vSym:
		return "shape"
	}
	return "value"
}

func (l *layer) describe() string {
	if l == nil {
		return "the input"
	}
	switch l.typ {
	case lConv:
		return fmt.Sprintf("Conv %dx%d %d->%d", l.kh, l.kw, l.cin, l.cout)
	case lFC:
		return fmt.Sprintf("Gemm %d->%d", l.cin, l.cout)
	case lPRelu:
		return "PRelu"
	case lPool:
		return "MaxPool " + l.pool.description
	}
	return "Softmax"
}

func (it *interp) conv(a attrs, x, w, b *value, set setFunc, fail failFunc, name string) error {
	if x.kind != vMap {
		return fail(ErrTopology, "convolves a %s; want a feature map", kindName(x.kind))
	}
	if x.perm != nchw {
		return fail(ErrUnsupported, "input is not in NCHW order (axes %v)", axesString(x.perm))
	}
	if x.last == nil && (x.norm == 1 || x.needCast) {
		return fail(ErrUnsupported, "input normalisation is incomplete (want Sub 127.5 then Mul 0.0078125)")
	}
	if w.kind != vConst || w.ct.isInt || len(w.ct.shape) != 4 {
		return fail(ErrUnsupported, "weights are not a constant [Cout, Cin, kh, kw] tensor")
	}
	s := w.ct.shape
	cout, cin, kh, kw := s[0], s[1], s[2], s[3]
	if cin != x.c {
		return fail(ErrTopology, "kernel takes %d channels, its input has %d", cin, x.c)
	}
	if g, _ := a.int("group", 1); g != 1 {
		return fail(ErrUnsupported, "group %d; want 1", g)
	}
	for _, k := range []string{"strides", "dilations"} {
		if vs, ok := a.ints(k); ok && slices.ContainsFunc(vs, func(v int64) bool { return v != 1 }) {
			return fail(ErrUnsupported, "%s %v; want all 1", k, vs)
		}
	}
	if vs, ok := a.ints("pads"); ok && slices.ContainsFunc(vs, func(v int64) bool { return v != 0 }) {
		return fail(ErrUnsupported, "pads %v; want none (VALID)", vs)
	}
	if ap, _ := a.str("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" && !(kh == 1 && kw == 1) {
		return fail(ErrUnsupported, "auto_pad %s; want VALID", ap)
	}
	if ks, ok := a.ints("kernel_shape"); ok && !slices.Equal(ks, []int64{int64(kh), int64(kw)}) {
		return fail(ErrFormat, "kernel_shape %v does not match weights %v", ks, s)
	}
	l := &layer{parent: x.last, typ: lConv, node: name, cin: cin, cout: cout, kh: kh, kw: kw, w: w.ct.f}
	if b != nil {
		if b.kind != vConst || b.ct.isInt || b.ct.size() != cout {
			return fail(ErrUnsupported, "bias is not a constant of %d values", cout)
		}
		l.b = b.ct.f
	}
	set(&value{kind: vMap, last: l, perm: nchw, c: cout})
	return nil
}

func axesString(p [4]int) string {
	const names = "NCHW"
	var b strings.Builder
	for _, a := range p {
		b.WriteByte(names[a])
	}
	return b.String()
}

func (it *interp) prelu(x, s *value, set setFunc, fail failFunc, name string) error {
	if (x.kind != vMap && x.kind != vVec) || x.last == nil {
		return fail(ErrTopology, "applies to %s; want a layer's output", x.last.describe())
	}
	if s.kind != vConst {
		return fail(ErrUnsupported, "slope is not a constant")
	}
	slope, err := channelVector(s.ct, x, x.c)
	if err != nil {
		if !s.ct.isInt && len(s.ct.shape) == 1 && s.ct.shape[0] == x.c {
			// [C] against NCHW broadcasts along W under ONNX's rules;
			// exporters that write it mean one slope per channel.
			slope = append([]float32(nil), s.ct.f...)
			it.notes = append(it.notes, fmt.Sprintf("PRelu %q: slope of shape [%d] taken as one per channel "+
				"(ONNX broadcasting would apply it along the last axis)", name, x.c))
		} else {
			return fail(ErrUnsupported, "slope: %v", err)
		}
	}
	v := *x
	v.last = &layer{parent: x.last, typ: lPRelu, node: name, cin: x.c, cout: x.c, slope: slope}
	set(&v)
	return nil
}

func (it *interp) maxPool(a attrs, x *value, set setFunc, fail failFunc, name string) error {
	if x.kind != vMap || x.last == nil {
		return fail(ErrTopology, "pools %s; want a feature map", x.last.describe())
	}
	if x.perm != nchw {
		return fail(ErrUnsupported, "input is not in NCHW order (axes %v)", axesString(x.perm))
	}
	var p poolAttrs
	ks, ok := a.ints("kernel_shape")
	if !ok || len(ks) != 2 {
		return fail(ErrFormat, "kernel_shape %v; want two values", ks)
	}
	strides, ok := a.ints("strides")
	if !ok {
		strides = []int64{1, 1}
	}
	pads, ok := a.ints("pads")
	if !ok {
		pads = []int64{0, 0, 0, 0}
	}
	if len(strides) != 2 || len(pads) != 4 {
		return fail(ErrFormat, "strides %v, pads %v; want 2 and 4 values", strides, pads)
	}
	if d, ok := a.ints("dilations"); ok && slices.ContainsFunc(d, func(v int64) bool { return v != 1 }) {
		return fail(ErrUnsupported, "dilations %v; want 1", d)
	}
	for i := range 2 {
		p.k[i], p.s[i] = int(ks[i]), int(strides[i])
		p.padB[i], p.padE[i] = int(pads[i]), int(pads[i+2])
		if p.k[i] < 1 || p.k[i] > 64 || p.s[i] < 1 || p.s[i] > 64 || p.padB[i] < 0 || p.padE[i] < 0 || p.padB[i] >= p.k[i] || p.padE[i] >= p.k[i] {
			return fail(ErrUnsupported, "kernel %v, strides %v, pads %v", ks, strides, pads)
		}
	}
	p.autoPad, _ = a.str("auto_pad", "NOTSET")
	switch p.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return fail(ErrFormat, "auto_pad %q", p.autoPad)
	}
	c, _ := a.int("ceil_mode", 0)
	p.ceil = c != 0
	p.description = fmt.Sprintf("%dx%d/%d", p.k[0], p.k[1], p.s[0])
	if p.s[0] != p.s[1] {
		p.description = fmt.Sprintf("%dx%d/%dx%d", p.k[0], p.k[1], p.s[0], p.s[1])
	}
	switch {
	case p.autoPad != "NOTSET":
		p.description += " " + p.autoPad
	case p.padB != [2]int{} || p.padE != [2]int{}:
		p.description += fmt.Sprintf(" pads %v", pads)
	}
	if p.ceil {
		p.description += " ceil"
	}
	v := *x
	v.last = &layer{parent: x.last, typ: lPool, node: name, cin: x.c, cout: x.c, pool: p}
	set(&v)
	return nil
}

func (it *interp) transpose(a attrs, x *value, set setFunc, fail failFunc) error {
	p, ok := a.ints("perm")
	switch x.kind {
	case vMap:
		if !ok {
			p = []int64{3, 2, 1, 0}
		}
		if len(p) != 4 {
			return fail(ErrUnsupported, "perm %v on a 4-d map", p)
		}
		var np [4]int
		seen := [4]bool{}
		for j, q := range p {
			if q < 0 || q > 3 || seen[q] {
				return fail(ErrFormat, "perm %v is not a permutation", p)
			}
			seen[q] = true
			np[j] = x.perm[q]
		}
		v := *x
		v.perm = np
		set(&v)
		return nil
	case vVec:
		if ok && slices.Equal(p, []int64{0, 1}) {
			v := *x
			set(&v)
			return nil
		}
	}
	return fail(ErrUnsupported, "transposes a %s with perm %v", kindName(x.kind), p)
}

func (it *interp) flatten(a attrs, x *value, set setFunc, fail failFunc) error {
	axis, _ := a.int("axis", 1)
	switch x.kind {
	case vMap:
		if axis == -3 {
			axis = 1
		}
		if axis != 1 || x.perm[0] != axN {
			return fail(ErrUnsupported, "flattens axes from %d of a map in %s order; want the batch axis first and axis 1", axis, axesString(x.perm))
		}
		if x.last == nil {
			return fail(ErrTopology, "flattens the input")
		}
		v := *x
		v.kind = vFlat
		set(&v)
		return nil
	case vVec, vFlat:
		if axis == 1 || axis == -1 {
			v := *x
			set(&v)
			return nil
		}
	}
	return fail(ErrUnsupported, "flattens a %s at axis %d", kindName(x.kind), axis)
}

// symList returns a constant or computed integer list.
func symList(v *value) ([]symInt, bool) {
	switch {
	case v.kind == vSym:
		return v.sym, true
	case v.kind == vConst && v.ct.isInt && len(v.ct.shape) <= 1:
		out := make([]symInt, len(v.ct.i))
		for i, n := range v.ct.i {
			out[i] = symInt{kind: symKnown, v: n}
		}
		return out, true
	}
	return nil, false
}

func (it *interp) reshape(x, shape *value, set setFunc, fail failFunc) error {
	t, ok := symList(shape)
	if !ok {
		return fail(ErrUnsupported, "shape is not a constant or computed from shapes")
	}
	desc := symString(t)
	if len(t) != 2 {
		return fail(ErrUnsupported, "reshape to %s; only flattening to [N, -1] is supported", desc)
	}
	known := func(s symInt, v int64) bool { return s.kind == symKnown && s.v == v }
	var k int
	switch {
	case t[1].kind == symKnown && t[1].v > 0 && (t[0].kind == symBatch || t[0].kind == symKnown && t[0].v >= -1):
		k = int(t[1].v)
	case known(t[1], -1) && (t[0].kind == symBatch || t[0].kind == symKnown && t[0].v >= 0):
	default:
		return fail(ErrUnsupported, "reshape to %s; only flattening to [N, -1] is supported", desc)
	}
	v := *x
	switch x.kind {
	case vMap:
		if x.perm[0] != axN || x.last == nil {
			return fail(ErrUnsupported, "reshapes a map in %s order; want the batch axis first", axesString(x.perm))
		}
		v.kind, v.flatK = vFlat, k
	case vFlat:
		if k != 0 {
			v.flatK = k
		}
	case vVec:
		if k != 0 && k != x.c {
			return fail(ErrTopology, "reshapes %d values to %d", x.c, k)
		}
	default:
		return fail(ErrUnsupported, "reshapes a %s", kindName(x.kind))
	}
	set(&v)
	return nil
}

func symString(t []symInt) string {
	parts := make([]string, len(t))
	for i, s := range t {
		switch s.kind {
		case symBatch:
			parts[i] = "N"
		case symUnknown:
			parts[i] = "?"
		default:
			parts[i] = fmt.Sprint(s.v)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// fcInput checks the input of a fully connected layer and returns its size
// when known (0 for a flattened map, whose spatial size is checked later).
func fcInput(x *value) (int, bool) {
	switch x.kind {
	case vVec:
		return x.c, true
	case vFlat:
		return 0, true
	}
	return 0, false
}

func (it *interp) newFC(x *value, w []float32, cin, cout int, name string) *layer {
	l := &layer{parent: x.last, typ: lFC, node: name, cin: cin, cout: cout, w: w}
	if x.kind == vFlat {
		l.fromMap, l.mapPerm, l.mapC, l.flatK = true, x.perm, x.c, x.flatK
	}
	return l
}

func (it *interp) gemm(a attrs, x, bv, cv *value, set setFunc, fail failFunc, name string) error {
	n, ok := fcInput(x)
	if !ok || x.last == nil {
		return fail(ErrTopology, "multiplies a %s; want a flattened map or a vector", kindName(x.kind))
	}
	alpha, _ := a.float("alpha", 1)
	beta, _ := a.float("beta", 1)
	ta, _ := a.int("transA", 0)
	tb, _ := a.int("transB", 0)
	if alpha != 1 || ta != 0 || (cv != nil && beta != 1) {
		return fail(ErrUnsupported, "alpha %v, beta %v, transA %d; want 1, 1, 0", alpha, beta, ta)
	}
	if bv.kind != vConst || bv.ct.isInt || len(bv.ct.shape) != 2 {
		return fail(ErrUnsupported, "B is not a constant matrix")
	}
	rows, cols := bv.ct.shape[0], bv.ct.shape[1]
	cin, cout := rows, cols
	if tb != 0 {
		cin, cout = cols, rows
	}
	if n != 0 && n != cin {
		return fail(ErrTopology, "takes %d inputs, its input has %d", cin, n)
	}
	w := make([]float32, cin*cout)
	for o := range cout {
		for k := range cin {
			if tb != 0 {
				w[o*cin+k] = bv.ct.f[o*cin+k]
			} else {
				w[o*cin+k] = bv.ct.f[k*cout+o]
			}
		}
	}
	l := it.newFC(x, w, cin, cout, name)
	if cv != nil {
		if cv.kind != vConst {
			return fail(ErrUnsupported, "C is not a constant")
		}
		b, err := channelVector(cv.ct, &value{kind: vVec}, cout)
		if err != nil {
			return fail(ErrUnsupported, "C: %v", err)
		}
		l.b = b
	}
	set(&value{kind: vVec, last: l, c: cout})
	return nil
}

func (it *interp) matmul(x, bv *value, set setFunc, fail failFunc, name string) error {
	n, ok := fcInput(x)
	if !ok || x.last == nil {
		return fail(ErrTopology, "multiplies a %s; want a flattened map or a vector", kindName(x.kind))
	}
	if bv.kind != vConst || bv.ct.isInt || len(bv.ct.shape) != 2 {
		return fail(ErrUnsupported, "B is not a constant matrix")
	}
	cin, cout := bv.ct.shape[0], bv.ct.shape[1]
	if n != 0 && n != cin {
		return fail(ErrTopology, "takes %d inputs, its input has %d", cin, n)
	}
	w := make([]float32, cin*cout)
	for o := range cout {
		for k := range cin {
			w[o*cin+k] = bv.ct.f[k*cout+o]
		}
	}
	set(&value{kind: vVec, last: it.newFC(x, w, cin, cout, name), c: cout})
	return nil
}

func (it *interp) softmax(a attrs, x *value, set setFunc, fail failFunc, name string) error {
	if (x.kind != vMap && x.kind != vVec) || x.last == nil {
		return fail(ErrTopology, "applies to %s; want a layer's output", x.last.describe())
	}
	def := int64(-1)
	if it.opset < 13 {
		def = 1
	}
	axis, _ := a.int("axis", def)
	rank := int64(2)
	if x.kind == vMap {
		rank = 4
	}
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return fail(ErrFormat, "axis out of range")
	}
	var channel bool
	switch {
	case x.kind == vVec:
		channel = axis == 1
	case it.opset >= 13:
		channel = x.perm[axis] == axC
	default:
		channel = axis == 3 && x.perm[3] == axC
	}
	if !channel {
		return fail(ErrUnsupported, "softmax at axis %d of a %s in %s order (opset %d) is not over the channels alone",
			axis, kindName(x.kind), axesString(x.perm), it.opset)
	}
	v := *x
	v.last = &layer{parent: x.last, typ: lSoftmax, node: name, cin: x.c, cout: x.c}
	set(&v)
	return nil
}

// shapeOp evaluates the integer ops of shape computations.
func (it *interp) shapeOp(o *op, a attrs, in func(int) *value, set setFunc, fail failFunc) error {
	x := in(0)
	if x == nil {
		return fail(ErrFormat, "input 0 is missing")
	}
	switch o.typ {
	case "Shape":
		var s []symInt
		switch x.kind {
		case vMap:
			for _, ax := range x.perm {
				switch ax {
				case axN:
					s = append(s, symInt{kind: symBatch})
				case axC:
					s = append(s, symInt{v: int64(x.c)})
				default:
					s = append(s, symInt{kind: symUnknown})
				}
			}
		case vFlat:
			s = []symInt{{kind: symBatch}, {kind: symUnknown}}
		case vVec:
			s = []symInt{{kind: symBatch}, {v: int64(x.c)}}
		case vConst:
			for _, d := range x.ct.shape {
				s = append(s, symInt{v: int64(d)})
			}
		default:
			return fail(ErrUnsupported, "shape of a %s", kindName(x.kind))
		}
		start, _ := a.int("start", 0)
		end, _ := a.int("end", int64(len(s)))
		lo, hi := clampRange(start, end, len(s))
		set(&value{kind: vSym, sym: s[lo:hi]})
		return nil
	case "Gather":
		data, ok := symList(x)
		idx := in(1)
		if !ok || idx == nil || idx.kind != vConst || !idx.ct.isInt || len(idx.ct.shape) > 1 {
			return fail(ErrUnsupported, "gathers from something other than a shape")
		}
		if axis, _ := a.int("axis", 0); axis != 0 {
			return fail(ErrUnsupported, "axis %d", axis)
		}
		var out []symInt
		for _, i := range idx.ct.i {
			if i < 0 {
				i += int64(len(data))
			}
			if i < 0 || i >= int64(len(data)) {
				return fail(ErrFormat, "index %d out of range for %d values", i, len(data))
			}
			out = append(out, data[i])
		}
		set(&value{kind: vSym, sym: out, scalar: len(idx.ct.shape) == 0})
		return nil
	case "Unsqueeze":
		axes, ok := a.ints("axes")
		if y := in(1); y != nil {
			if y.kind != vConst || !y.ct.isInt {
				return fail(ErrUnsupported, "axes are not constant")
			}
			axes, ok = y.ct.i, true
		}
		data, isList := symList(x)
		scalar := x.scalar || (x.kind == vConst && len(x.ct.shape) == 0)
		if !isList || !scalar || !ok || !slices.Equal(axes, []int64{0}) {
			return fail(ErrUnsupported, "unsqueezes a %s at %v; only a shape scalar at axis 0 is supported", kindName(x.kind), axes)
		}
		set(&value{kind: vSym, sym: data})
		return nil
	case "Concat":
		if axis, _ := a.int("axis", 0); axis != 0 && axis != -1 {
			return fail(ErrUnsupported, "axis %d", axis)
		}
		var out []symInt
		for i := range o.in {
			v := in(i)
			if v == nil {
				return fail(ErrFormat, "input %d is missing", i)
			}
			s, ok := symList(v)
			if !ok || v.scalar {
				return fail(ErrUnsupported, "concatenates a %s; only shape lists are supported", kindName(v.kind))
			}
			out = append(out, s...)
		}
		if len(out) > maxRank {
			return fail(ErrUnsupported, "shape of %d dimensions", len(out))
		}
		set(&value{kind: vSym, sym: out})
		return nil
	case "Slice":
		data, ok := symList(x)
		if !ok || x.scalar {
			return fail(ErrUnsupported, "slices a %s; only shape lists are supported", kindName(x.kind))
		}
		get := func(attr string, input int) ([]int64, bool) {
			if v := in(input); v != nil {
				if v.kind != vConst || !v.ct.isInt {
					return nil, false
				}
				return v.ct.i, true
			}
			return a.ints(attr)
		}
		starts, ok1 := get("starts", 1)
		ends, ok2 := get("ends", 2)
		if !ok1 || !ok2 || len(starts) != 1 || len(ends) != 1 {
			return fail(ErrUnsupported, "starts %v, ends %v; want one constant each", starts, ends)
		}
		if axes, ok := get("axes", 3); ok && !slices.Equal(axes, []int64{0}) && !slices.Equal(axes, []int64{-1}) {
			return fail(ErrUnsupported, "axes %v", axes)
		}
		if steps, ok := get("", 4); ok && !slices.Equal(steps, []int64{1}) {
			return fail(ErrUnsupported, "steps %v", steps)
		}
		lo, hi := clampRange(starts[0], ends[0], len(data))
		set(&value{kind: vSym, sym: data[lo:hi]})
		return nil
	}
	return fail(ErrUnsupported, "operator %s", o.typ)
}

// clampRange resolves Python-style start and end indices for n values.
func clampRange(start, end int64, n int) (int, int) {
	fix := func(i int64) int {
		if i < 0 {
			i += int64(n)
		}
		return int(min(max(i, 0), int64(n)))
	}
	lo, hi := fix(start), fix(end)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// attrs reads onnx-go's decoded attributes.
type attrs map[string]any

func (a attrs) int(name string, def int64) (int64, bool) {
	v, ok := a[name].(int64)
	if !ok {
		return def, false
	}
	return v, true
}

func (a attrs) float(name string, def float32) (float32, bool) {
	v, ok := a[name].(float32)
	if !ok {
		return def, false
	}
	return v, true
}

func (a attrs) str(name, def string) (string, bool) {
	v, ok := a[name].(string)
	if !ok {
		return def, false
	}
	return v, true
}

func (a attrs) ints(name string) ([]int64, bool) {
	v, ok := a[name].([]int64)
	return v, ok
}

// constant returns a Constant node's value.
func (a attrs) constant() (*constT, error) {
	switch v := a["value"].(type) {
	case tensor.Tensor:
		return constOf(v)
	case nil:
	default:
		return nil, fmt.Errorf("value attribute of type %T", v)
	}
	if f, ok := a["value_float"].(float32); ok {
		return &constT{f: []float32{f}}, nil
	}
	if fs, ok := a["value_floats"].([]float32); ok {
		return &constT{shape: []int{len(fs)}, f: append([]float32(nil), fs...)}, nil
	}
	if i, ok := a["value_int"].(int64); ok {
		return &constT{i: []int64{i}, isInt: true}, nil
	}
	if is, ok := a["value_ints"].([]int64); ok {
		return &constT{shape: []int{len(is)}, i: append([]int64(nil), is...), isInt: true}, nil
	}
	return nil, fmt.Errorf("no supported value attribute")
}
