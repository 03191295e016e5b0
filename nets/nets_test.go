package nets

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/mtcnn-go/mtcnn/weights"
)

func model(tb testing.TB) *weights.Model {
	tb.Helper()
	m, err := weights.Default()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func randomInput(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n)
	for i := range x {
		// Values on the normalised pixel grid, as the cascade produces.
		x[i] = (float32(r.IntN(256)) - 127.5) / 128
	}
	return x
}

// naive is an independent float64 implementation of the three nets,
// straight from the layer list in REFERENCE.md, used as the specification
// the gorgonia graphs are checked against.
type naive struct {
	m *weights.Model
}

type tensor64 struct {
	n, h, w, c int
	d          []float64
}

func (t tensor64) at(b, y, x, c int) float64 { return t.d[((b*t.h+y)*t.w+x)*t.c+c] }

func (nv naive) conv(in tensor64, name, prelu string) tensor64 {
	wt := nv.m.Tensor(name + "/weights")
	bias := nv.m.Tensor(name + "/biases").Data
	kh, kw, cout := wt.Shape[0], wt.Shape[1], wt.Shape[3]
	out := tensor64{in.n, in.h - kh + 1, in.w - kw + 1, cout, nil}
	out.d = make([]float64, out.n*out.h*out.w*out.c)
	var alpha []float32
	if prelu != "" {
		alpha = nv.m.Tensor(prelu + "/weights").Data
	}
	for b := 0; b < out.n; b++ {
		for y := 0; y < out.h; y++ {
			for x := 0; x < out.w; x++ {
				for o := 0; o < cout; o++ {
					s := float64(bias[o])
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							for ci := 0; ci < in.c; ci++ {
								s += in.at(b, y+ky, x+kx, ci) * float64(wt.Data[((ky*kw+kx)*in.c+ci)*cout+o])
							}
						}
					}
					if alpha != nil && s <= 0 {
						s *= float64(alpha[o])
					}
					out.d[((b*out.h+y)*out.w+x)*cout+o] = s
				}
			}
		}
	}
	return out
}

// pool is TensorFlow max pooling: SAME pads to ceil(in/s) outputs with the
// extra padding at the end.
func (naive) pool(in tensor64, k, s int, same bool) tensor64 {
	oh, ow := (in.h-k)/s+1, (in.w-k)/s+1
	padH, padW := 0, 0
	if same {
		oh, ow = (in.h+s-1)/s, (in.w+s-1)/s
		padH = max(0, (oh-1)*s+k-in.h) / 2
		padW = max(0, (ow-1)*s+k-in.w) / 2
	}
	out := tensor64{in.n, oh, ow, in.c, make([]float64, in.n*oh*ow*in.c)}
	for b := 0; b < in.n; b++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for c := 0; c < in.c; c++ {
					m := math.Inf(-1)
					for dy := 0; dy < k; dy++ {
						for dx := 0; dx < k; dx++ {
							iy, ix := y*s-padH+dy, x*s-padW+dx
							if iy >= 0 && iy < in.h && ix >= 0 && ix < in.w {
								m = math.Max(m, in.at(b, iy, ix, c))
							}
						}
					}
					out.d[((b*oh+y)*ow+x)*in.c+c] = m
				}
			}
		}
	}
	return out
}

func (nv naive) forward(k Kind, x []float32, n, h, w int) (prob, reg, lm []float64) {
	t := tensor64{n, h, w, 3, make([]float64, len(x))}
	for i, v := range x {
		t.d[i] = float64(v)
	}
	var heads []string
	switch k {
	case PNet:
		t = nv.conv(t, "pnet/conv1", "pnet/PReLU1")
		t = nv.pool(t, 2, 2, false)
		t = nv.conv(t, "pnet/conv2", "pnet/PReLU2")
		t = nv.conv(t, "pnet/conv3", "pnet/PReLU3")
		heads = []string{"pnet/conv4-1", "pnet/conv4-2"}
	case RNet:
		t = nv.conv(t, "rnet/conv1", "rnet/prelu1")
		t = nv.pool(t, 3, 2, true)
		t = nv.conv(t, "rnet/conv2", "rnet/prelu2")
		t = nv.pool(t, 3, 2, false)
		t = nv.conv(t, "rnet/conv3", "rnet/prelu3")
		t = nv.conv(t, "rnet/conv4", "rnet/prelu4")
		heads = []string{"rnet/conv5-1", "rnet/conv5-2"}
	case ONet:
		t = nv.conv(t, "onet/conv1", "onet/prelu1")
		t = nv.pool(t, 3, 2, true)
		t = nv.conv(t, "onet/conv2", "onet/prelu2")
		t = nv.pool(t, 3, 2, false)
		t = nv.conv(t, "onet/conv3", "onet/prelu3")
		t = nv.pool(t, 2, 2, false)
		t = nv.conv(t, "onet/conv4", "onet/prelu4")
		t = nv.conv(t, "onet/conv5", "onet/prelu5")
		heads = []string{"onet/conv6-1", "onet/conv6-2", "onet/conv6-3"}
	}
	logits := nv.conv(t, heads[0], "")
	for i := 0; i < len(logits.d); i += 2 {
		a, b := logits.d[i], logits.d[i+1]
		prob = append(prob, 1/(1+math.Exp(a-b)))
	}
	reg = nv.conv(t, heads[1], "").d
	if len(heads) > 2 {
		lm = nv.conv(t, heads[2], "").d
	}
	return prob, reg, lm
}

func maxDiff(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range got {
		d = max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d
}

// TestNetsAgainstNaive runs each net at fixed inputs and compares with the
// float64 specification. float32 summation differs from float64 by far
// less than the tolerance.
func TestNetsAgainstNaive(t *testing.T) {
	m := model(t)
	nv := naive{m}
	const tol = 2e-4
	for _, tc := range []struct {
		kind       Kind
		batch      int
		h, w       int
		outH, outW int
	}{
		{PNet, 1, 12, 12, 1, 1},
		{PNet, 1, 13, 12, 1, 1},
		{PNet, 1, 25, 31, 7, 10},
		{PNet, 1, 48, 37, 19, 13},
		{RNet, 1, 24, 24, 1, 1},
		{RNet, 7, 24, 24, 1, 1}, // chunks of 4, 2, 1
		{ONet, 1, 48, 48, 1, 1},
		{ONet, 3, 48, 48, 1, 1},
	} {
		name := fmt.Sprintf("%v/%dx%dx%d", tc.kind, tc.batch, tc.h, tc.w)
		t.Run(name, func(t *testing.T) {
			net, err := New(m, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			x := randomInput(uint64(tc.batch*1000+tc.h*31+tc.w), tc.batch*tc.h*tc.w*3)
			out, err := net.Run(x, tc.batch, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if out.N != tc.batch || out.H != tc.outH || out.W != tc.outW {
				t.Fatalf("output %dx%dx%d, want %dx%dx%d", out.N, out.H, out.W, tc.batch, tc.outH, tc.outW)
			}
			prob, reg, lm := nv.forward(tc.kind, x, tc.batch, tc.h, tc.w)
			if d := maxDiff(out.Prob, prob); d > tol {
				t.Errorf("prob differs by %g", d)
			}
			if d := maxDiff(out.Reg, reg); d > tol {
				t.Errorf("regression differs by %g", d)
			}
			if tc.kind == ONet {
				if d := maxDiff(out.Landmarks, lm); d > tol {
					t.Errorf("landmarks differ by %g", d)
				}
			} else if out.Landmarks != nil {
				t.Errorf("%v has landmarks", tc.kind)
			}
		})
	}
}

// TestBatchIndependent checks that an item's outputs do not depend on the
// batch it runs in, whatever chunks the batch is split into.
func TestBatchIndependent(t *testing.T) {
	m := model(t)
	net, err := New(m, RNet)
	if err != nil {
		t.Fatal(err)
	}
	const per = 24 * 24 * 3
	x := randomInput(99, 300*per) // 128 + 128 + 32 + 8 + 4
	all, err := net.Run(x, 300, 24, 24)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 255, 256, 299} {
		one, err := net.Run(x[i*per:(i+1)*per], 1, 24, 24)
		if err != nil {
			t.Fatal(err)
		}
		if one.Prob[0] != all.Prob[i] || one.Reg[0] != all.Reg[4*i] || one.Reg[3] != all.Reg[4*i+3] {
			t.Errorf("item %d: alone %v %v, in batch %v %v", i, one.Prob[0], one.Reg[:4], all.Prob[i], all.Reg[4*i:4*i+4])
		}
	}
}

func TestRunErrors(t *testing.T) {
	m := model(t)
	p, _ := New(m, PNet)
	r, _ := New(m, RNet)
	for _, tc := range []struct {
		net     *Net
		n, h, w int
		size    int
	}{
		{p, 1, 11, 20, 11 * 20 * 3},
		{p, 2, 12, 12, 2 * 12 * 12 * 3},
		{p, 1, 12, 12, 5},
		{r, 1, 48, 48, 48 * 48 * 3},
		{r, 0, 24, 24, 0},
		{r, 2, 24, 24, 24 * 24 * 3},
	} {
		if _, err := tc.net.Run(make([]float32, tc.size), tc.n, tc.h, tc.w); !errors.Is(err, ErrInput) {
			t.Errorf("%v %dx%dx%d with %d values: error %v, want ErrInput", tc.net.Kind(), tc.n, tc.h, tc.w, tc.size, err)
		}
	}
	if _, err := New(m, Kind(7)); err == nil {
		t.Error("New accepted an unknown kind")
	}
	var ts []*weights.Tensor
	for _, n := range m.Names() {
		if n != "onet/prelu5/weights" {
			ts = append(ts, m.Tensor(n))
		}
	}
	if _, err := weights.NewModel(ts); !errors.Is(err, weights.ErrMissingTensor) {
		t.Errorf("model without onet/prelu5: %v", err)
	}
}

// TestCacheBounded checks that the graph cache keeps at most maxShapes
// shapes and reuses graphs.
func TestCacheBounded(t *testing.T) {
	p, err := New(model(t), PNet)
	if err != nil {
		t.Fatal(err)
	}
	p.maxShapes = 3
	for s := 12; s < 20; s++ {
		if _, err := p.Run(make([]float32, s*s*3), 1, s, s); err != nil {
			t.Fatal(err)
		}
	}
	if p.lru.Len() != 3 || len(p.byKey) != 3 {
		t.Errorf("cache holds %d/%d shapes, want 3", p.lru.Len(), len(p.byKey))
	}
	if _, ok := p.byKey[shape4{1, 19, 19, 3}]; !ok {
		t.Error("most recent shape was evicted")
	}
	e := p.byKey[shape4{1, 19, 19, 3}].Value.(*cacheEntry)
	prog := e.idle[0]
	if _, err := p.Run(make([]float32, 19*19*3), 1, 19, 19); err != nil {
		t.Fatal(err)
	}
	if e.idle[0] != prog {
		t.Error("graph for a cached shape was not reused")
	}
}

// TestConcurrent runs one Net from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	o, err := New(model(t), ONet)
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(5, 2*48*48*3)
	want, err := o.Run(x, 2, 48, 48)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				got, err := o.Run(x, 2, 48, 48)
				if err != nil {
					t.Error(err)
					return
				}
				if got.Prob[1] != want.Prob[1] || got.Landmarks[19] != want.Landmarks[19] {
					t.Error("concurrent run differs")
				}
			}
		}()
	}
	wg.Wait()
}

// TestPNetBands checks that P-Net over an input large enough to run in
// bands gives exactly what one pass gives.
func TestPNetBands(t *testing.T) {
	p, err := New(model(t), PNet)
	if err != nil {
		t.Fatal(err)
	}
	const h, w = 301, 2000 // about 2.3 bands
	x := randomInput(77, h*w*3)
	banded, err := p.Run(x, 1, h, w)
	if err != nil {
		t.Fatal(err)
	}
	whole := new(Output)
	whole.reset(1, pnetOut(h), pnetOut(w), false)
	if err := p.runShape(whole, 0, x, shape4{1, h, w, 3}, Exact); err != nil {
		t.Fatal(err)
	}
	if banded.H != whole.H || banded.W != whole.W || banded.H != pnetOut(h) {
		t.Fatalf("banded %dx%d, whole %dx%d", banded.H, banded.W, whole.H, whole.W)
	}
	for i := range whole.Prob {
		if banded.Prob[i] != whole.Prob[i] {
			t.Fatalf("prob[%d] = %v banded, %v whole", i, banded.Prob[i], whole.Prob[i])
		}
	}
	for i := range whole.Reg {
		if banded.Reg[i] != whole.Reg[i] {
			t.Fatalf("reg[%d] = %v banded, %v whole", i, banded.Reg[i], whole.Reg[i])
		}
	}
}

// TestFMAModeClose runs every net in both modes: FMA must really change
// the rounding (it runs other kernels) and stay within rounding of Exact.
func TestFMAModeClose(t *testing.T) {
	if !FMAAvailable() {
		t.Skip("no FMA kernels here: Mode FMA runs as Exact")
	}
	for _, tc := range []struct {
		k           Kind
		batch, h, w int
	}{{PNet, 1, 101, 146}, {RNet, 37, 24, 24}, {ONet, 9, 48, 48}} {
		net, err := New(model(t), tc.k)
		if err != nil {
			t.Fatal(err)
		}
		x := randomInput(5, tc.batch*tc.h*tc.w*3)
		exact, err := net.RunMode(x, tc.batch, tc.h, tc.w, Exact)
		if err != nil {
			t.Fatal(err)
		}
		fused, err := net.RunMode(x, tc.batch, tc.h, tc.w, FMA)
		if err != nil {
			t.Fatal(err)
		}
		var maxDiff float64
		var differ int
		for _, p := range [][2][]float32{{exact.Prob, fused.Prob}, {exact.Reg, fused.Reg}, {exact.Landmarks, fused.Landmarks}} {
			if len(p[0]) != len(p[1]) {
				t.Fatalf("%v: output sizes %d and %d", tc.k, len(p[0]), len(p[1]))
			}
			for i := range p[0] {
				d := math.Abs(float64(p[0][i] - p[1][i]))
				maxDiff = max(maxDiff, d)
				if d != 0 {
					differ++
				}
			}
		}
		t.Logf("%v: %d outputs differ, by at most %.3g", tc.k, differ, maxDiff)
		if differ == 0 {
			t.Errorf("%v: FMA gives exactly Exact's outputs: the fused kernels did not run", tc.k)
		}
		if maxDiff > 1e-4 {
			t.Errorf("%v: FMA differs from Exact by %.3g", tc.k, maxDiff)
		}
	}
	if _, err := (&Net{kind: PNet}).RunMode(nil, 1, 12, 12, Mode(7)); !errors.Is(err, ErrInput) {
		t.Errorf("unknown mode: err = %v, want ErrInput", err)
	}
}

// TestRunIntoReuses checks that RunInto gives RunMode's results and keeps
// writing into the caller's slices once they are large enough, across
// batch sizes (several chunks), P-Net bands and a smaller run after a
// larger one.
func TestRunIntoReuses(t *testing.T) {
	for _, tc := range []struct {
		k     Kind
		sizes [][3]int // batch, h, w
	}{
		{PNet, [][3]int{{1, 301, 2000}, {1, 40, 50}, {1, 301, 2000}}},
		{RNet, [][3]int{{150, 24, 24}, {3, 24, 24}, {150, 24, 24}}},
		{ONet, [][3]int{{70, 48, 48}, {1, 48, 48}, {70, 48, 48}}},
	} {
		net, err := New(model(t), tc.k)
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		var firstProb *float32
		for i, s := range tc.sizes {
			x := randomInput(uint64(10+i), s[0]*s[1]*s[2]*3)
			want, err := net.RunMode(x, s[0], s[1], s[2], Exact)
			if err != nil {
				t.Fatal(err)
			}
			if err := net.RunInto(&out, x, s[0], s[1], s[2], Exact); err != nil {
				t.Fatal(err)
			}
			if out.N != want.N || out.H != want.H || out.W != want.W ||
				!slices.Equal(out.Prob, want.Prob) || !slices.Equal(out.Reg, want.Reg) || !slices.Equal(out.Landmarks, want.Landmarks) {
				t.Fatalf("%v %v: RunInto differs from RunMode", tc.k, s)
			}
			if i == 0 {
				firstProb = &out.Prob[0]
			} else if &out.Prob[0] != firstProb {
				t.Errorf("%v %v: RunInto allocated new output slices", tc.k, s)
			}
		}
	}
}
