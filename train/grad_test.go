package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// The gradient tests compare gorgonia's symbolic gradients with central
// finite differences, (f(x+h) - f(x-h)) / 2h, in float64: for every layer
// type and loss alone on random values, and for each whole net with its
// losses on random and on the real weights.

const fdStep = 1e-6

// closeEnough compares an analytic and a numeric derivative with a mixed
// absolute and relative tolerance.
func closeEnough(a, n float64) bool {
	return math.Abs(a-n) <= 1e-5+1e-4*math.Max(math.Abs(a), math.Abs(n))
}

func randTensor(r *rand.Rand, shape ...int) *tensor.Dense {
	d := make([]float64, dims(shape))
	for i := range d {
		d[i] = r.NormFloat64()
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// checkLayer builds cost = sum(layer(inputs) * R) for a fixed random R and
// checks d cost / d input for every element of every input.
func checkLayer(t *testing.T, r *rand.Rand, build func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error), shapes ...[]int) {
	t.Helper()
	g := gorgonia.NewGraph()
	var in []*gorgonia.Node
	var vals []*tensor.Dense
	for i, s := range shapes {
		v := randTensor(r, s...)
		vals = append(vals, v)
		in = append(in, gorgonia.NewTensor(g, tensor.Float64, len(s), gorgonia.WithShape(s...), gorgonia.WithName(fmt.Sprint("in", i)), gorgonia.WithValue(v)))
	}
	out, err := build(g, in)
	if err != nil {
		t.Fatal(err)
	}
	cost := out
	if out.Shape().Dims() > 0 {
		rv := randTensor(r, out.Shape()...)
		rn := gorgonia.NewTensor(g, tensor.Float64, out.Shape().Dims(), gorgonia.WithShape(out.Shape()...), gorgonia.WithName("R"), gorgonia.WithValue(rv))
		prod, err := gorgonia.HadamardProd(out, rn)
		if err != nil {
			t.Fatal(err)
		}
		if cost, err = gorgonia.Sum(prod); err != nil {
			t.Fatal(err)
		}
	}
	grads, err := gorgonia.Grad(cost, in...)
	if err != nil {
		t.Fatal(err)
	}
	gv := make([]gorgonia.Value, len(in))
	for i := range grads {
		gorgonia.Read(grads[i], &gv[i])
	}
	var cv gorgonia.Value
	gorgonia.Read(cost, &cv)
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	eval := func() float64 {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
		return scalarOf(cv)
	}
	eval()
	analytic := make([][]float64, len(in))
	for i := range gv {
		analytic[i] = values(gv[i])
	}
	for i, v := range vals {
		d := v.Data().([]float64)
		bad := 0
		for j := range d {
			x := d[j]
			d[j] = x + fdStep
			up := eval()
			d[j] = x - fdStep
			down := eval()
			d[j] = x
			num := (up - down) / (2 * fdStep)
			if !closeEnough(analytic[i][j], num) {
				if bad++; bad <= 5 {
					t.Errorf("input %d element %d: gradient %v, finite difference %v", i, j, analytic[i][j], num)
				}
			}
		}
	}
}

func TestLayerGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	t.Run("conv+bias+prelu", func(t *testing.T) {
		checkLayer(t, r, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return newConvPReLU(in[0], in[1], in[2], in[3], tensor.Float64)
		}, []int{2, 3, 6, 5}, []int{4, 3, 3, 2}, []int{1, 4, 1, 1}, []int{1, 4, 1, 1})
	})
	t.Run("conv+bias+prelu/1x1-output", func(t *testing.T) {
		checkLayer(t, r, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return newConvPReLU(in[0], in[1], in[2], in[3], tensor.Float64)
		}, []int{3, 2, 3, 3}, []int{5, 2, 3, 3}, []int{1, 5, 1, 1}, []int{1, 5, 1, 1})
	})
	for _, c := range []struct {
		k, s, n int
		same    bool
	}{{2, 2, 6, false}, {3, 2, 9, false}, {3, 2, 8, true}, {3, 2, 6, true}, {2, 2, 5, false}} {
		t.Run(fmt.Sprintf("maxpool%d/%d/n%d/same=%v", c.k, c.s, c.n, c.same), func(t *testing.T) {
			checkLayer(t, r, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return maxPool(in[0], c.k, c.s, c.same)
			}, []int{2, 2, c.n, c.n})
		})
	}
	t.Run("head", func(t *testing.T) {
		checkLayer(t, r, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			mm, err := gorgonia.Mul(in[0], in[1])
			if err != nil {
				return nil, err
			}
			return gorgonia.BroadcastAdd(mm, in[2], nil, []byte{0})
		}, []int{3, 5}, []int{5, 4}, []int{1, 4})
	})
	t.Run("cross-entropy+ohem", func(t *testing.T) {
		const n = 10
		lab := tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(make([]float64, 2*n)))
		valid := tensor.New(tensor.WithShape(n), tensor.WithBacking(make([]float64, n)))
		for i := 0; i < n; i++ {
			if i%5 == 4 {
				continue // no face label
			}
			lab.Data().([]float64)[2*i+i%2] = 1
			valid.Data().([]float64)[i] = 1
		}
		checkLayer(t, r, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			logp, err := gorgonia.LogSoftMax(in[0], 1)
			if err != nil {
				return nil, err
			}
			l := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(n, 2), gorgonia.WithName("label"), gorgonia.WithValue(lab))
			v := gorgonia.NewTensor(g, tensor.Float64, 1, gorgonia.WithShape(n), gorgonia.WithName("valid"), gorgonia.WithValue(valid))
			p, err := gorgonia.HadamardProd(l, logp)
			if err != nil {
				return nil, err
			}
			s, err := gorgonia.Sum(p, 1)
			if err != nil {
				return nil, err
			}
			ce, err := gorgonia.Neg(s)
			if err != nil {
				return nil, err
			}
			return gorgonia.ApplyOp(&ohemOp{st: &ohemState{}, ratio: 0.7}, ce, v)
		}, []int{n, 2})
	})
	t.Run("squared-l2", func(t *testing.T) {
		checkLayer(t, r, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return weightedL2(in[0], in[1], in[2])
		}, []int{4, 10}, []int{4, 10}, []int{4})
	})
}

// TestConvPReLUMatchesGorgonia checks the fused layer's forward values
// against the same layer composed from gorgonia's own operations: Conv2d,
// a broadcast bias, and PReLU as relu(z) + a * (z - relu(z)).
func TestConvPReLUMatchesGorgonia(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	g := gorgonia.NewGraph()
	node := func(name string, shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, tensor.Float64, len(shape), gorgonia.WithName(name), gorgonia.WithShape(shape...), gorgonia.WithValue(randTensor(r, shape...)))
	}
	x, w, b, a := node("x", 2, 3, 7, 6), node("w", 4, 3, 3, 2), node("b", 1, 4, 1, 1), node("a", 1, 4, 1, 1)
	fused, err := newConvPReLU(x, w, b, a, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gorgonia.Conv2d(x, w, tensor.Shape{3, 2}, []int{0, 0}, []int{1, 1}, []int{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	z := gorgonia.Must(gorgonia.BroadcastAdd(c, b, nil, []byte{0, 2, 3}))
	pos := gorgonia.Must(gorgonia.Rectify(z))
	neg := gorgonia.Must(gorgonia.Sub(z, pos))
	ref := gorgonia.Must(gorgonia.Add(pos, gorgonia.Must(gorgonia.BroadcastHadamardProd(neg, a, nil, []byte{0, 2, 3}))))
	var fv, rv gorgonia.Value
	gorgonia.Read(fused, &fv)
	gorgonia.Read(ref, &rv)
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got, want := values(fv), values(rv)
	if len(got) != len(want) || len(got) != 2*4*5*5 {
		t.Fatalf("%d values, composed layer %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("value %d: %v, composed layer %v", i, got[i], want[i])
		}
	}
}

// TestOHEMKeepsHardest checks the forward value of OHEM: the mean of the
// largest 70 % of the valid losses.
func TestOHEMKeepsHardest(t *testing.T) {
	for _, c := range []struct {
		loss, valid []float64
		want        float64
	}{
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, (10 + 9 + 8 + 7 + 6 + 5 + 4) / 7.0},
		{[]float64{9, 1, 5, 7}, []float64{0, 1, 1, 1}, (7 + 5 + 1) / 3.0}, // ceil(2.1) = 3 of 3 valid
		{[]float64{9, 1}, []float64{0, 0}, 0},
		{[]float64{3}, []float64{1}, 3},
	} {
		op := &ohemOp{st: &ohemState{}, ratio: 0.7}
		n := len(c.loss)
		v, err := op.Do(tensor.New(tensor.WithShape(n), tensor.WithBacking(c.loss)), tensor.New(tensor.WithShape(n), tensor.WithBacking(c.valid)))
		if err != nil {
			t.Fatal(err)
		}
		if got := scalarOf(v); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("OHEM of %v (valid %v) = %v, want %v", c.loss, c.valid, got, c.want)
		}
	}
}

// checkNet checks the gradient of a whole net's cost with respect to a
// few elements of every parameter.
func checkNet(t *testing.T, m *weights.Model, k nets.Kind, r *rand.Rand) {
	t.Helper()
	const n = 4
	gr, err := newGraph(m, k, n, graphOptions{dtype: tensor.Float64, ohemRatio: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	samples := randomSamples(r, k, n)
	for i := range samples {
		samples[i].HasLandmarks = true // landmarks train in every sample here
	}
	if err := gr.bind(samples); err != nil {
		t.Fatal(err)
	}
	eval := func() float64 {
		if err := gr.run(); err != nil {
			t.Fatal(err)
		}
		_, _, _, total := gr.losses()
		return total
	}
	f0 := eval()
	gs, err := gradients(gr)
	if err != nil {
		t.Fatal(err)
	}
	tries := 2
	if k == nets.ONet {
		tries = 1 // its passes are the slowest; 19 tensors are still all checked
	}
	for i, p := range gr.params {
		d := p.value.Data().([]float64)
		checked := 0
		for attempts := 0; checked < tries && attempts < 10; attempts++ {
			j := r.IntN(len(d))
			x := d[j]
			// A larger step than the layers' tests: the net's float64 sums
			// are long.
			const h = 1e-5
			d[j] = x + h
			up := eval()
			d[j] = x - h
			down := eval()
			d[j] = x
			// A step across a kink of PReLU, max pooling or OHEM's choice
			// makes the two one-sided slopes disagree: such an element
			// has no derivative to compare, pick another.
			fwd, bwd := (up-f0)/h, (f0-down)/h
			if math.Abs(fwd-bwd) > 1e-3*(math.Abs(fwd)+math.Abs(bwd))+1e-6 {
				continue
			}
			checked++
			num := (up - down) / (2 * h)
			if !closeEnough(gs[i][j], num) {
				t.Errorf("%s element %d: gradient %v, finite difference %v", p.name, j, gs[i][j], num)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no element away from a kink in 10 tries", p.name)
		}
	}
}

func TestNetGradientsRealWeights(t *testing.T) {
	m := defaultModel(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) { checkNet(t, m, k, r) })
	}
}

func TestNetGradientsRandomWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m := randomModel(t, r)
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) { checkNet(t, m, k, r) })
	}
}

// randomModel returns a model of the MTCNN layout with random weights
// scaled so activations stay of order one.
func randomModel(t testing.TB, r *rand.Rand) *weights.Model {
	t.Helper()
	base := defaultModel(t)
	var ts []*weights.Tensor
	for _, name := range base.Names() {
		sh := weights.Shape(name)
		fan := 1
		if len(sh) == 4 {
			fan = sh[0] * sh[1] * sh[2]
		}
		d := make([]float32, dims(sh))
		for i := range d {
			d[i] = float32(r.NormFloat64() / math.Sqrt(float64(fan)))
		}
		ts = append(ts, &weights.Tensor{Name: name, Shape: sh, Data: d})
	}
	m, err := weights.NewModel(ts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGradientsDoNotAccumulate runs the graph twice on the same batch: the
// gradients must be the same, not doubled (gorgonia accumulates into dual
// values until a solver steps; these graphs must not).
func TestGradientsDoNotAccumulate(t *testing.T) {
	m := defaultModel(t)
	gr, err := newGraph(m, nets.RNet, 3, graphOptions{ohemRatio: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	if err := gr.bind(randomSamples(rand.New(rand.NewPCG(9, 9)), nets.RNet, 3)); err != nil {
		t.Fatal(err)
	}
	var first [][]float64
	for run := 0; run < 2; run++ {
		if err := gr.run(); err != nil {
			t.Fatal(err)
		}
		gs, err := gradients(gr)
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = gs
			continue
		}
		for i := range gs {
			for j := range gs[i] {
				if gs[i][j] != first[i][j] {
					t.Fatalf("%s element %d: second run's gradient %v, first %v", gr.params[i].name, j, gs[i][j], first[i][j])
				}
			}
		}
	}
}

// TestStepLowersLoss checks that one Adam step on a batch lowers the
// batch's loss, for every net.
func TestStepLowersLoss(t *testing.T) {
	m := defaultModel(t)
	r := rand.New(rand.NewPCG(11, 12))
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			gr, err := newGraph(m, k, 8, graphOptions{ohemRatio: 0.7})
			if err != nil {
				t.Fatal(err)
			}
			if err := gr.bind(randomSamples(r, k, 8)); err != nil {
				t.Fatal(err)
			}
			if err := gr.run(); err != nil {
				t.Fatal(err)
			}
			_, _, _, before := gr.losses()
			gs, err := gradients(gr)
			if err != nil {
				t.Fatal(err)
			}
			newAdam(1e-4, 0, 0).step(gr.params, gs)
			if err := gr.run(); err != nil {
				t.Fatal(err)
			}
			_, _, _, after := gr.losses()
			if !(after < before) {
				t.Errorf("loss %v after one step, %v before", after, before)
			}
		})
	}
}

// TestNotFinite checks that a NaN in the data stops with ErrNotFinite
// rather than corrupting the parameters.
func TestNotFinite(t *testing.T) {
	m := defaultModel(t)
	gr, err := newGraph(m, nets.PNet, 2, graphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := randomSamples(rand.New(rand.NewPCG(1, 1)), nets.PNet, 2)
	s[0].Class, s[0].Box[0] = Positive, float32(math.Inf(1))
	if err := gr.bind(s); err != nil {
		t.Fatal(err)
	}
	if err := gr.run(); err != nil {
		t.Fatal(err)
	}
	if _, err := gradients(gr); !errors.Is(err, ErrNotFinite) {
		t.Fatalf("gradients with an infinite target: %v, want ErrNotFinite", err)
	}
}
