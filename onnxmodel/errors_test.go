package onnxmodel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// spec is one layer of a test graph: an op with its channel counts, kernel
// side and extra attributes. Weights are filled with small values.
type spec struct {
	op        string
	cin, cout int
	k         int
	attrs     []msg
}

func conv(cin, cout, k int, attrs ...msg) spec {
	return spec{op: "Conv", cin: cin, cout: cout, k: k, attrs: attrs}
}
func prelu(c int) spec { return spec{op: "PRelu", cout: c} }
func maxPool(k, s int, attrs ...msg) spec {
	return spec{op: "MaxPool", k: k, attrs: append([]msg{intsAttr("kernel_shape", int64(k), int64(k)), intsAttr("strides", int64(s), int64(s))}, attrs...)}
}
func softmax(axis int64) spec { return spec{op: "Softmax", attrs: []msg{intAttr("axis", axis)}} }

// testNet describes a small graph: an input, a trunk and heads.
type testNet struct {
	opset  int64
	inputs []msg // value infos; default one NCHW input "x"
	trunk  []spec
	heads  [][]spec
	extra  func(g *graphBuilder, x string) string // applied to the input first
}

// pnetSpec returns a P-Net-shaped test graph.
func pnetSpec() testNet {
	return testNet{
		opset: 13,
		trunk: []spec{conv(3, 10, 3), prelu(10), maxPool(2, 2), conv(10, 16, 3), prelu(16), conv(16, 32, 3), prelu(32)},
		heads: [][]spec{{conv(32, 2, 1), softmax(1)}, {conv(32, 4, 1)}},
	}
}

func (n testNet) build() []byte {
	g := &graphBuilder{name: "test"}
	if n.inputs == nil {
		g.ins = append(g.ins, valueInfo("x", dtFloat, []dim{{param: "N"}, {size: 3}, {param: "H"}, {param: "W"}}))
	} else {
		g.ins = n.inputs
	}
	weights := func(size int) []float32 {
		w := make([]float32, size)
		for i := range w {
			w[i] = float32(i%7)/7 - 0.5
		}
		return w
	}
	apply := func(x string, s spec) string {
		switch s.op {
		case "Conv":
			w := g.init("", []int64{int64(s.cout), int64(s.cin), int64(s.k), int64(s.k)}, weights(s.cout*s.cin*s.k*s.k))
			b := g.init("", []int64{int64(s.cout)}, weights(s.cout))
			return g.node("Conv", "", []string{x, w, b}, s.attrs...)
		case "PRelu":
			return g.node("PRelu", "", []string{x, g.init("", []int64{int64(s.cout), 1, 1}, weights(s.cout))})
		}
		return g.node(s.op, "", []string{x}, s.attrs...)
	}
	x := "x"
	if n.extra != nil {
		x = n.extra(g, x)
	}
	for _, s := range n.trunk {
		x = apply(x, s)
	}
	for _, h := range n.heads {
		y := x
		for _, s := range h {
			y = apply(y, s)
		}
		g.outs = append(g.outs, valueInfo(y, dtFloat, nil))
	}
	return g.model(n.opset, "", nil)
}

func TestDecodeErrors(t *testing.T) {
	m := defaultModel(t)
	pnet, err := Encode(m, nets.PNet)
	if err != nil {
		t.Fatal(err)
	}
	rnetSpec := func() testNet {
		return testNet{
			opset:  13,
			inputs: []msg{valueInfo("x", dtFloat, []dim{{param: "N"}, {size: 3}, {size: 24}, {size: 24}})},
			trunk: []spec{conv(3, 28, 3), prelu(28), maxPool(3, 2, intAttr("ceil_mode", 1)), conv(28, 48, 3), prelu(48),
				maxPool(3, 2), conv(48, 64, 2), prelu(64), conv(64, 128, 3), prelu(128)},
			heads: [][]spec{{conv(128, 2, 1), softmax(1)}, {conv(128, 4, 1)}},
		}
	}
	mod := func(f func(*testNet)) []byte {
		n := pnetSpec()
		f(&n)
		return n.build()
	}
	cases := []struct {
		name string
		data []byte
		want error
		msg  []string
	}{
		{"empty", nil, ErrFormat, []string{"no graph"}},
		{"text", []byte("hello, world"), ErrFormat, nil},
		{"truncated", pnet[:len(pnet)/2], ErrFormat, nil},
		{"valid-p-net-shape", pnetSpec().build(), nil, nil},
		{"valid-r-net-shape", rnetSpec().build(), nil, nil},
		{"one-channel-input", mod(func(n *testNet) {
			n.inputs = []msg{valueInfo("x", dtFloat, []dim{{param: "N"}, {size: 1}, {param: "H"}, {param: "W"}})}
			n.trunk[0].cin = 1
		}), ErrTopology, []string{"1 channels; want 3"}},
		{"conv1-12-channels", mod(func(n *testNet) {
			n.trunk[0].cout, n.trunk[1].cout, n.trunk[3].cin = 12, 12, 12
		}), ErrTopology, []string{"Closest is P-Net", "want Conv 3x3 3->10, PRelu, found Conv 3x3 3->12, PRelu"}},
		{"missing-reg-output", mod(func(n *testNet) { n.heads = n.heads[:1] }), ErrTopology, []string{"1 output", "want 2"}},
		{"extra-output", mod(func(n *testNet) { n.heads = append(n.heads, []spec{conv(32, 10, 1)}) }),
			ErrTopology, []string{"heads: want 32->2 Softmax, 32->4, found 32->2 Softmax, 32->4, 32->10"}},
		{"relu", mod(func(n *testNet) { n.trunk[1] = spec{op: "Relu"} }), ErrUnsupported, []string{"operator Relu"}},
		{"strided-conv", mod(func(n *testNet) { n.trunk[3].attrs = []msg{intsAttr("strides", 2, 2)} }), ErrUnsupported, []string{"strides [2 2]"}},
		{"padded-conv", mod(func(n *testNet) { n.trunk[0].attrs = []msg{intsAttr("pads", 1, 1, 1, 1)} }), ErrUnsupported, []string{"pads"}},
		{"p-net-pool-3x3", mod(func(n *testNet) { n.trunk[2] = maxPool(3, 2) }), ErrUnsupported, []string{"MaxPool", "pools"}},
		{"r-net-valid-pool1", func() []byte {
			n := rnetSpec()
			n.trunk[2] = maxPool(3, 2)
			return n.build()
		}(), ErrUnsupported, []string{"22-wide map pools 10 windows", "SAME pools 11 windows"}},
		{"r-net-same-lower-pool1", func() []byte {
			n := rnetSpec()
			n.trunk[2] = maxPool(3, 2, stringAttr("auto_pad", "SAME_LOWER"))
			return n.build()
		}(), ErrUnsupported, []string{"SAME_LOWER"}},
		{"softmax-opset11-axis1", mod(func(n *testNet) { n.opset = 11 }), ErrUnsupported, []string{"not over the channels"}},
		{"softmax-spatial", mod(func(n *testNet) { n.heads[0][1] = softmax(3) }), ErrUnsupported, []string{"softmax at axis 3"}},
		{"bad-normalisation", mod(func(n *testNet) {
			n.extra = func(g *graphBuilder, x string) string {
				return g.node("Div", "", []string{x, g.init("", nil, []float32{255})})
			}
		}), ErrUnsupported, []string{"want (x - 127.5) * 0.0078125"}},
		{"two-inputs", mod(func(n *testNet) {
			n.inputs = []msg{
				valueInfo("x", dtFloat, []dim{{param: "N"}, {size: 3}, {param: "H"}, {param: "W"}}),
				valueInfo("y", dtFloat, []dim{{size: 1}}),
			}
		}), ErrTopology, []string{"2 inputs"}},
		{"custom-domain", func() []byte {
			g := &graphBuilder{name: "g"}
			g.ins = append(g.ins, valueInfo("x", dtFloat, nil))
			n := msg(nil).str(1, "x").str(2, "y").str(3, "n").str(4, "Foo").str(7, "com.example")
			g.nodes = append(g.nodes, n)
			g.outs = append(g.outs, valueInfo("y", dtFloat, nil))
			return g.model(13, "", nil)
		}(), ErrUnsupported, []string{`"Foo" of domain "com.example"`}},
		{"external-data", func() []byte {
			g := &graphBuilder{name: "g"}
			g.inits = append(g.inits, msg(nil).packedInts(1, []int64{2}).varint(2, dtFloat).str(8, "w").varint(14, 1))
			g.ins = append(g.ins, valueInfo("x", dtFloat, nil))
			g.node("Identity", "y", []string{"x"})
			g.outs = append(g.outs, valueInfo("y", dtFloat, nil))
			return g.model(13, "", nil)
		}(), ErrUnsupported, []string{"external data"}},
		{"short-raw-data", func() []byte {
			g := &graphBuilder{name: "g"}
			g.inits = append(g.inits, msg(nil).packedInts(1, []int64{4}).varint(2, dtFloat).str(8, "w").bytes(9, make([]byte, 8)))
			g.ins = append(g.ins, valueInfo("x", dtFloat, nil))
			g.node("Identity", "y", []string{"x"})
			g.outs = append(g.outs, valueInfo("y", dtFloat, nil))
			return g.model(13, "", nil)
		}(), ErrFormat, []string{"has 2 values, shape [4] needs 4"}},
		{"huge-input", func() []byte {
			g := &graphBuilder{name: "g"}
			g.ins = append(g.ins, valueInfo("x", dtFloat, []dim{{size: 1 << 20}, {size: 3}, {size: 1 << 20}, {size: 1 << 20}}))
			g.node("Identity", "y", []string{"x"})
			g.outs = append(g.outs, valueInfo("y", dtFloat, nil))
			return g.model(13, "", nil)
		}(), ErrFormat, []string{"elements"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeNet(tc.data, Options{})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v; want one wrapping %v", err, tc.want)
			}
			t.Log(err)
			for _, s := range tc.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if errors.Is(err, ErrFormat) && !errors.Is(err, weights.ErrFormat) {
				t.Error("ErrFormat does not wrap weights.ErrFormat")
			}
		})
	}
}

// TestAssembleErrors checks the errors for a wrong set of nets.
func TestAssembleErrors(t *testing.T) {
	m := defaultModel(t)
	dir := t.TempDir()
	if err := WriteDir(m, dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, FileName(nets.PNet))
	r := filepath.Join(dir, FileName(nets.RNet))
	cases := []struct {
		name  string
		paths []string
		want  error
		msg   string
	}{
		{"one-file", []string{p}, ErrMissingNet, "got 1 file(s)"},
		{"two-files", []string{p, r}, ErrMissingNet, "got 2 file(s)"},
		{"p-net-twice", []string{p, r, p}, ErrMissingNet, "are both P-Net"},
		{"missing-file", []string{filepath.Join(dir, "nope")}, os.ErrNotExist, "nope"},
		{"empty-dir", []string{t.TempDir()}, os.ErrNotExist, "pnet.onnx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(Options{}, tc.paths...)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v; want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
	pn, err := DecodeNet(mustRead(t, p), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Assemble(pn); !errors.Is(err, ErrMissingNet) || !strings.Contains(err.Error(), "no R-Net or O-Net") {
		t.Errorf("Assemble(P-Net) = %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
