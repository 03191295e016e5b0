package train

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"sort"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Online hard example mining (the MTCNN article's OHEM): of a batch's
// face losses, only the largest ratio of those of samples that have a
// face label (negatives and positives) count, averaged; the rest get no
// gradient. Which samples are kept depends on the forward values, so it is
// an operation of its own: ohemOp computes the mean and records the kept
// samples, and its gradient op, run later on the same tape, spreads the
// incoming gradient over them.

// ohemState is what the forward op records for the backward one.
type ohemState struct {
	n     int
	kept  []int // indices of the kept samples
	count int   // len(kept), the mean's denominator
}

// ohemOp maps (losses [N], valid [N] of 0/1) to the mean of the largest
// ceil(ratio * valid count) valid losses; 0 when no sample is valid.
type ohemOp struct {
	st    *ohemState
	ratio float64 // (0, 1]; 0 means 1
}

// keepCount is how many of n valid losses OHEM keeps.
func keepCount(n int, ratio float64) int {
	if ratio <= 0 || ratio >= 1 || n == 0 {
		return n
	}
	return max(1, int(math.Ceil(ratio*float64(n)-1e-9)))
}

func (op *ohemOp) Arity() int { return 2 }
func (op *ohemOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	v := gorgonia.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(v, v, a)
}
func (op *ohemOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op *ohemOp) ReturnsPtr() bool      { return false }
func (op *ohemOp) CallsExtern() bool     { return false }
func (op *ohemOp) OverwritesInput() int  { return -1 }
func (op *ohemOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "ohem(%v,%p)", op.ratio, op.st) }
func (op *ohemOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *ohemOp) String() string { return fmt.Sprintf("OHEM{%v}", op.ratio) }

func (op *ohemOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("ohem: %d inputs, want 2", len(inputs))
	}
	loss, valid := values(inputs[0]), values(inputs[1])
	if len(loss) != len(valid) {
		return nil, fmt.Errorf("ohem: %d losses and %d flags", len(loss), len(valid))
	}
	st := op.st
	st.n = len(loss)
	st.kept = st.kept[:0]
	for i, v := range valid {
		if v != 0 {
			st.kept = append(st.kept, i)
		}
	}
	// Largest first; ties by index so the choice is deterministic.
	sort.SliceStable(st.kept, func(a, b int) bool { return loss[st.kept[a]] > loss[st.kept[b]] })
	st.kept = st.kept[:keepCount(len(st.kept), op.ratio)]
	st.count = len(st.kept)
	var sum float64
	for _, i := range st.kept {
		sum += loss[i]
	}
	mean := 0.0
	if st.count > 0 {
		mean = sum / float64(st.count)
	}
	if inputs[0].Dtype() == tensor.Float64 {
		return gorgonia.NewF64(mean), nil
	}
	return gorgonia.NewF32(float32(mean)), nil
}

func (op *ohemOp) DiffWRT(int) []bool { return []bool{true, false} }

func (op *ohemOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(&ohemDiffOp{st: op.st, n: inputs[0].Shape()[0]}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{d, nil}, nil
}

// ohemDiffOp maps the gradient of the mean to that of the losses: g/count
// at the kept samples, 0 elsewhere.
type ohemDiffOp struct {
	st *ohemState
	n  int
}

func (op *ohemDiffOp) Arity() int { return 1 }
func (op *ohemDiffOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, gorgonia.TensorType{Dims: 1, Of: a})
}
func (op *ohemDiffOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n}, nil
}
func (op *ohemDiffOp) ReturnsPtr() bool      { return false }
func (op *ohemDiffOp) CallsExtern() bool     { return false }
func (op *ohemDiffOp) OverwritesInput() int  { return -1 }
func (op *ohemDiffOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "ohemdiff(%d,%p)", op.n, op.st) }
func (op *ohemDiffOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *ohemDiffOp) String() string { return "OHEMDiff" }

func (op *ohemDiffOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("ohem diff: %d inputs, want 1", len(inputs))
	}
	g := scalarOf(inputs[0])
	dt := inputs[0].Dtype()
	out := tensor.New(tensor.Of(dt), tensor.WithShape(op.n))
	if op.st.count > 0 {
		for _, i := range op.st.kept {
			setAt(out, i, g/float64(op.st.count))
		}
	}
	return out, nil
}
