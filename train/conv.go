package train

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convPReLU is the trunk layer of the MTCNN nets as one differentiable
// operation: y = PReLU(conv(x, w) + b, a), a VALID stride-1 convolution
// of x (NCHW) with w (OIHW), a per-channel bias b and slope a (both
// [1,C,1,1]). Gorgonia's own Conv2d with broadcast bias and PReLU
// composed from Rectify, Sub and HadamardProd computes the same, but
// transposes its im2col result, materialises the broadcast vectors and
// runs half a dozen element-wise passes forward and back; this op is
// three matrix products per pass (forward; weights and input gradients)
// with the whole batch's columns side by side, which makes training
// about twice as fast. TestLayerGradients checks its gradients against
// finite differences and TestForwardMatchesInference its values against
// the inference nets.
//
// The forward pass keeps its im2col columns and pre-activations in a
// state shared with the gradient ops, which run later on the same tape.

type convState[T float32 | float64] struct {
	n, cin, h, w, cout, kh, kw, oh, ow int
	cols                               []T // K x N*P, K = cin*kh*kw, P = oh*ow
	z                                  []T // pre-activation, Cout x N*P
	wt, at                             []T // the forward pass's weights and slopes
	// Gradients computed by convBackOp for the pick ops.
	dw, db, da []T
	// Scratch of the backward pass, reused from run to run.
	dz, dcols []T
}

func (s *convState[T]) k() int { return s.cin * s.kh * s.kw }
func (s *convState[T]) p() int { return s.oh * s.ow }

// newConvPReLU applies the fused layer to x with kernel w, bias b and
// slope a, all nodes of dtype dt.
func newConvPReLU(x, w, b, a *gorgonia.Node, dt tensor.Dtype) (*gorgonia.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 4 || len(ws) != 4 || xs[1] != ws[1] {
		return nil, fmt.Errorf("conv: input %v and kernel %v do not fit", xs, ws)
	}
	geo := convGeo{n: xs[0], cin: xs[1], h: xs[2], w: xs[3], cout: ws[0], kh: ws[2], kw: ws[3]}
	geo.oh, geo.ow = geo.h-geo.kh+1, geo.w-geo.kw+1
	if geo.oh < 1 || geo.ow < 1 {
		return nil, fmt.Errorf("conv: kernel %dx%d larger than input %dx%d", geo.kh, geo.kw, geo.h, geo.w)
	}
	var st any
	if dt == tensor.Float64 {
		st = &convState[float64]{}
	} else {
		st = &convState[float32]{}
	}
	return gorgonia.ApplyOp(&convOp{geo: geo, st: st, dt: dt}, x, w, b, a)
}

type convGeo struct{ n, cin, h, w, cout, kh, kw, oh, ow int }

// convOp is the forward pass.
type convOp struct {
	geo convGeo
	st  any // *convState[float32] or *convState[float64]
	dt  tensor.Dtype
}

func (op *convOp) Arity() int { return 4 }
func (op *convOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t, t, t)
}
func (op *convOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	g := op.geo
	return tensor.Shape{g.n, g.cout, g.oh, g.ow}, nil
}
func (op *convOp) ReturnsPtr() bool      { return false }
func (op *convOp) CallsExtern() bool     { return false }
func (op *convOp) OverwritesInput() int  { return -1 }
func (op *convOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "convPReLU(%v,%p)", op.geo, op.st) }
func (op *convOp) Hashcode() uint32      { return hashOp(op) }
func (op *convOp) String() string        { return fmt.Sprintf("ConvPReLU%v", op.geo) }

func hashOp(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *convOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(inputs) != 4 {
		return nil, fmt.Errorf("conv: %d inputs, want 4", len(inputs))
	}
	switch st := op.st.(type) {
	case *convState[float32]:
		return convForward(st, op.geo, inputs)
	case *convState[float64]:
		return convForward(st, op.geo, inputs)
	}
	return nil, fmt.Errorf("conv: bad state")
}

func data[T float32 | float64](v gorgonia.Value) ([]T, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("want a dense tensor, got %T", v)
	}
	d, ok := t.Data().([]T)
	if !ok {
		return nil, fmt.Errorf("want %T data, got %T", d, t.Data())
	}
	return d, nil
}

func grow[T float32 | float64](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// gemm is C = alpha*op(A)*op(B) + beta*C on row-major matrices.
func gemm[T float32 | float64](tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(ta, tb, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func convForward[T float32 | float64](st *convState[T], g convGeo, in []gorgonia.Value) (gorgonia.Value, error) {
	x, err := data[T](in[0])
	if err != nil {
		return nil, err
	}
	w, err := data[T](in[1])
	if err != nil {
		return nil, err
	}
	b, err := data[T](in[2])
	if err != nil {
		return nil, err
	}
	a, err := data[T](in[3])
	if err != nil {
		return nil, err
	}
	st.n, st.cin, st.h, st.w, st.cout, st.kh, st.kw, st.oh, st.ow = g.n, g.cin, g.h, g.w, g.cout, g.kh, g.kw, g.oh, g.ow
	K, P, NP := st.k(), st.p(), g.n*st.p()
	st.cols = grow(st.cols, K*NP)
	// im2col: row (ci, i, j), column (n, oy, ox).
	for ci := 0; ci < g.cin; ci++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				row := st.cols[((ci*g.kh+i)*g.kw+j)*NP:][:NP]
				for n := 0; n < g.n; n++ {
					plane := x[(n*g.cin+ci)*g.h*g.w:]
					dst := row[n*P:]
					for oy := 0; oy < g.oh; oy++ {
						copy(dst[oy*g.ow:(oy+1)*g.ow], plane[(oy+i)*g.w+j:])
					}
				}
			}
		}
	}
	st.z = grow(st.z, g.cout*NP)
	for c := 0; c < g.cout; c++ {
		zc := st.z[c*NP : (c+1)*NP]
		for i := range zc {
			zc[i] = b[c]
		}
	}
	gemm(false, false, g.cout, NP, K, w, K, st.cols, NP, 1, st.z, NP)
	st.wt, st.at = w, a
	out := make([]T, g.n*g.cout*P)
	for c := 0; c < g.cout; c++ {
		zc := st.z[c*NP : (c+1)*NP]
		slope := a[c]
		for n := 0; n < g.n; n++ {
			dst := out[(n*g.cout+c)*P : (n*g.cout+c+1)*P]
			for p, v := range zc[n*P : (n+1)*P] {
				if v > 0 {
					dst[p] = v
				} else {
					dst[p] = slope * v
				}
			}
		}
	}
	return tensor.New(tensor.WithShape(g.n, g.cout, g.oh, g.ow), tensor.WithBacking(out)), nil
}

func (op *convOp) DiffWRT(int) []bool { return []bool{true, true, true, true} }

// SymDiff returns the input's gradient from convBackOp, which also leaves
// the kernel's, bias's and slope's in the shared state for three pick ops.
func (op *convOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	back, err := gorgonia.ApplyOp(&convBackOp{geo: op.geo, st: op.st}, grad)
	if err != nil {
		return nil, err
	}
	out := gorgonia.Nodes{back}
	for which := 1; which <= 3; which++ {
		n, err := gorgonia.ApplyOp(&convPickOp{st: op.st, which: which, shape: inputs[which].Shape().Clone()}, back)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// convBackOp maps dL/dy to dL/dx, computing dL/dw, dL/db, dL/da on the way.
type convBackOp struct {
	geo convGeo
	st  any
}

func (op *convBackOp) Arity() int { return 1 }
func (op *convBackOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op *convBackOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	g := op.geo
	return tensor.Shape{g.n, g.cin, g.h, g.w}, nil
}
func (op *convBackOp) ReturnsPtr() bool      { return false }
func (op *convBackOp) CallsExtern() bool     { return false }
func (op *convBackOp) OverwritesInput() int  { return -1 }
func (op *convBackOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "convPReLUBack(%v,%p)", op.geo, op.st) }
func (op *convBackOp) Hashcode() uint32      { return hashOp(op) }
func (op *convBackOp) String() string        { return "ConvPReLUBack" }

func (op *convBackOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("conv back: %d inputs, want 1", len(inputs))
	}
	switch st := op.st.(type) {
	case *convState[float32]:
		return convBackward(st, inputs[0])
	case *convState[float64]:
		return convBackward(st, inputs[0])
	}
	return nil, fmt.Errorf("conv back: bad state")
}

func convBackward[T float32 | float64](st *convState[T], gv gorgonia.Value) (gorgonia.Value, error) {
	dy, err := data[T](gv)
	if err != nil {
		return nil, err
	}
	K, P, NP := st.k(), st.p(), st.n*st.p()
	if len(dy) != st.n*st.cout*P || len(st.z) != st.cout*NP {
		return nil, fmt.Errorf("conv back: gradient of %d values for %d outputs (forward not run?)", len(dy), st.cout*NP)
	}
	// dz = dy * PReLU'(z), in the Cout x N*P layout; da and db summed.
	st.dz = grow(st.dz, st.cout*NP)
	dz := st.dz
	st.db = grow(st.db, st.cout)
	st.da = grow(st.da, st.cout)
	for c := 0; c < st.cout; c++ {
		var db, da T
		slope := st.at[c]
		zc, dzc := st.z[c*NP:(c+1)*NP], dz[c*NP:(c+1)*NP]
		for n := 0; n < st.n; n++ {
			src := dy[(n*st.cout+c)*P : (n*st.cout+c+1)*P]
			for p, g := range src {
				i := n*P + p
				if v := zc[i]; v > 0 {
					dzc[i] = g
				} else {
					dzc[i] = slope * g
					da += g * v
				}
				db += dzc[i]
			}
		}
		st.db[c], st.da[c] = db, da
	}
	// dw = dz * cols^T; dcols = w^T * dz.
	st.dw = grow(st.dw, st.cout*K)
	gemm(false, true, st.cout, K, NP, dz, NP, st.cols, NP, 0, st.dw, K)
	st.dcols = grow(st.dcols, K*NP)
	dcols := st.dcols
	gemm(true, false, K, NP, st.cout, st.wt, K, dz, NP, 0, dcols, NP)
	// col2im.
	dx := make([]T, st.n*st.cin*st.h*st.w)
	for ci := 0; ci < st.cin; ci++ {
		for i := 0; i < st.kh; i++ {
			for j := 0; j < st.kw; j++ {
				row := dcols[((ci*st.kh+i)*st.kw+j)*NP:][:NP]
				for n := 0; n < st.n; n++ {
					plane := dx[(n*st.cin+ci)*st.h*st.w:]
					src := row[n*P:]
					for oy := 0; oy < st.oh; oy++ {
						d := plane[(oy+i)*st.w+j:][:st.ow]
						for ox, v := range src[oy*st.ow : (oy+1)*st.ow] {
							d[ox] += v
						}
					}
				}
			}
		}
	}
	return tensor.New(tensor.WithShape(st.n, st.cin, st.h, st.w), tensor.WithBacking(dx)), nil
}

// convPickOp returns one of the gradients convBackOp left in the state: 1
// the kernel's, 2 the bias's, 3 the slope's. Its input is convBackOp's
// node, which orders it after the backward pass.
type convPickOp struct {
	st    any
	which int
	shape tensor.Shape
}

func (op *convPickOp) Arity() int { return 1 }
func (op *convPickOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 4, Of: a}, gorgonia.TensorType{Dims: len(op.shape), Of: a})
}
func (op *convPickOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *convPickOp) ReturnsPtr() bool     { return false }
func (op *convPickOp) CallsExtern() bool    { return false }
func (op *convPickOp) OverwritesInput() int { return -1 }
func (op *convPickOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "convPick(%d,%p)", op.which, op.st)
}
func (op *convPickOp) Hashcode() uint32 { return hashOp(op) }
func (op *convPickOp) String() string   { return fmt.Sprintf("ConvPick%d", op.which) }

func (op *convPickOp) Do(...gorgonia.Value) (gorgonia.Value, error) {
	switch st := op.st.(type) {
	case *convState[float32]:
		return pick(st, op.which, op.shape), nil
	case *convState[float64]:
		return pick(st, op.which, op.shape), nil
	}
	return nil, fmt.Errorf("conv pick: bad state")
}

func pick[T float32 | float64](st *convState[T], which int, shape tensor.Shape) gorgonia.Value {
	var src []T
	switch which {
	case 1:
		src = st.dw
	case 2:
		src = st.db
	default:
		src = st.da
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]T(nil), src...)))
}
