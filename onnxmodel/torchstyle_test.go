package onnxmodel

import (
	"fmt"
	"testing"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// torchStyle describes an ONNX export of MTCNN as PyTorch ports make them
// (facenet-pytorch's models/mtcnn.py exported with torch.onnx): NCHW,
// nn.Linear fully connected layers after a permute and view, ceil-mode
// pools. The test builds such files from the embedded weights with its own
// mapping, written independently of the importer: the ONNX Runtime test
// checks the mapping against our nets, the import tests check that the
// importer inverts it exactly.
type torchStyle struct {
	name    string
	opset   int64
	rgb     bool   // conv1 takes RGB
	xy      bool   // reg x1, y1, x2, y2; landmarks x1..x5, y1..y5
	ceil    bool   // ceil_mode pools without padding (PyTorch's MTCNN)
	slope   string // PRelu slope shape on maps: "C11", "1C11" or "C"
	fc      string // "gemm" (transB=1), "gemmT" (transB=0) or "matmul" (MatMul + Add)
	flatten string // "permute-view": Transpose(0,3,2,1) + Shape/Gather/Unsqueeze/Concat + Reshape;
	// "permute-flatten": Transpose(0,3,2,1) + Flatten; "flatten": Flatten of NCHW;
	// "nhwc-reshape": Transpose(0,2,3,1) + Reshape [-1, K]
	raw  bool // input 0..255 with (x-127.5)*0.0078125 in the graph
	nhwc bool // input NHWC followed by a Transpose
}

// facenet is facenet-pytorch's convention.
var facenet = torchStyle{name: "facenet", opset: 11, rgb: true, xy: true, ceil: true, slope: "C11", fc: "gemm", flatten: "permute-view"}

func (s torchStyle) options() Options { return Options{RGB: s.rgb, XYFirst: s.xy} }

// build returns net k of m in this style.
func (s torchStyle) build(tb testing.TB, m *weights.Model, k nets.Kind) []byte {
	tb.Helper()
	g := &graphBuilder{name: fmt.Sprintf("torch_%v", k)}
	hw := func(name string) *weights.Tensor {
		t := m.Tensor(name)
		if t == nil {
			tb.Fatalf("no tensor %q", name)
		}
		return t
	}
	in := int64(k.InputSize())
	dims := []dim{{param: "batch"}, {size: 3}, {size: in}, {size: in}}
	if k == nets.PNet {
		dims[2], dims[3] = dim{param: "h"}, dim{param: "w"}
	}
	if s.nhwc {
		dims = []dim{dims[0], dims[2], dims[3], dims[1]}
	}
	elem := dtFloat
	g.ins = append(g.ins, valueInfo("x", elem, dims))
	x := "x"
	if s.nhwc {
		x = g.node("Transpose", "", []string{x}, intsAttr("perm", 0, 3, 1, 2))
	}
	if s.raw {
		x = g.node("Sub", "", []string{x, g.init("mean", nil, []float32{127.5})})
		x = g.node("Mul", "", []string{x, g.init("scale", nil, []float32{0.0078125})})
	}
	convW := func(name string, rgb bool) (string, []int64) {
		t := hw(name)
		kh, kw, cin, cout := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
		w := make([]float32, len(t.Data))
		for o := range cout {
			for i := range cin {
				src := i
				if rgb {
					src = cin - 1 - i
				}
				for y := range kh {
					for xx := range kw {
						w[((o*cin+i)*kh+y)*kw+xx] = t.Data[((y*kw+xx)*cin+src)*cout+o]
					}
				}
			}
		}
		d := []int64{int64(cout), int64(cin), int64(kh), int64(kw)}
		return g.init(name, d, w), d
	}
	prelu := func(x, name string, vector bool) string {
		t := hw(name)
		c := int64(len(t.Data))
		d := []int64{c}
		if !vector {
			switch s.slope {
			case "C11":
				d = []int64{c, 1, 1}
			case "1C11":
				d = []int64{1, c, 1, 1}
			}
		}
		return g.node("PRelu", "", []string{x, g.init(name, d, t.Data)})
	}
	// linear adds a fully connected layer with weights w [out][in].
	linear := func(x, name string, w []float32, cin, cout int, b []float32) string {
		switch s.fc {
		case "gemmT", "matmul":
			bt := make([]float32, len(w))
			for o := range cout {
				for i := range cin {
					bt[i*cout+o] = w[o*cin+i]
				}
			}
			wn := g.init(name+".weight", []int64{int64(cin), int64(cout)}, bt)
			bn := g.init(name+".bias", []int64{int64(cout)}, b)
			if s.fc == "matmul" {
				y := g.node("MatMul", "", []string{x, wn})
				return g.node("Add", "", []string{y, bn})
			}
			return g.node("Gemm", "", []string{x, wn, bn})
		}
		wn := g.init(name+".weight", []int64{int64(cout), int64(cin)}, w)
		bn := g.init(name+".bias", []int64{int64(cout)}, b)
		return g.node("Gemm", "", []string{x, wn, bn}, intAttr("transB", 1), floatAttr("alpha", 1), floatAttr("beta", 1))
	}
	a := archOf(k)
	sizes, _ := a.spatial(int(in))
	pool := func(x string, st archStep, n int) string {
		attrs := []msg{intsAttr("kernel_shape", int64(st.k), int64(st.k)), intsAttr("strides", int64(st.s), int64(st.s))}
		if s.ceil {
			attrs = append(attrs, intAttr("ceil_mode", 1))
		} else if st.same {
			out, before := tfPoolOut(n, st.k, st.s, true)
			after := int64((out-1)*st.s + st.k - n - before)
			attrs = append(attrs, intsAttr("pads", int64(before), int64(before), after, after))
		}
		return g.node("MaxPool", "", []string{x}, attrs...)
	}
	// The last trunk step of R-Net and O-Net is the fully connected layer.
	nconv := len(a.steps)
	if k != nets.PNet {
		nconv--
	}
	for i, st := range a.steps[:nconv] {
		if st.conv == "" {
			x = pool(x, st, sizes[i])
			continue
		}
		wn, d := convW(st.conv+"/weights", i == 0 && s.rgb)
		x = g.node("Conv", "", []string{x, wn, g.init(st.conv+"/biases", d[:1], hw(st.conv+"/biases").Data)},
			intsAttr("kernel_shape", d[2], d[3]), intsAttr("strides", 1, 1), intsAttr("pads", 0, 0, 0, 0),
			intsAttr("dilations", 1, 1), intAttr("group", 1))
		x = prelu(x, st.prelu+"/weights", false)
	}
	headOrder := func(cout int) []int {
		src := make([]int, cout)
		for o := range src {
			src[o] = o
			if s.xy && cout == 4 {
				src[o] = []int{1, 0, 3, 2}[o]
			}
			if s.xy && cout == 10 {
				src[o] = (o + 5) % 10
			}
		}
		return src
	}
	var outs []string
	if k == nets.PNet {
		for _, h := range a.heads {
			t := hw(h.conv + "/weights")
			cin, cout := t.Shape[2], t.Shape[3]
			src := headOrder(cout)
			w := make([]float32, cin*cout)
			b := make([]float32, cout)
			for o := range cout {
				b[o] = hw(h.conv + "/biases").Data[src[o]]
				for i := range cin {
					w[o*cin+i] = t.Data[i*cout+src[o]]
				}
			}
			y := g.node("Conv", "", []string{x, g.init(h.conv+"/weights", []int64{int64(cout), int64(cin), 1, 1}, w),
				g.init(h.conv+"/biases", []int64{int64(cout)}, b)}, intsAttr("kernel_shape", 1, 1))
			if h.softmax {
				if s.opset >= 13 {
					y = g.node("Softmax", "", []string{y}, intAttr("axis", 1))
				} else {
					y = g.node("Transpose", "", []string{y}, intsAttr("perm", 0, 2, 3, 1))
					y = g.node("Softmax", "", []string{y}, intAttr("axis", 3))
					y = g.node("Transpose", "", []string{y}, intsAttr("perm", 0, 3, 1, 2))
				}
			}
			outs = append(outs, y)
		}
	} else {
		// Flatten the last map and apply the fully connected layer.
		st := a.steps[nconv]
		t := hw(st.conv + "/weights")
		kh, kw, cin, cout := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
		K := kh * kw * cin
		w := make([]float32, cout*K)
		for y := range kh {
			for xx := range kw {
				for c := range cin {
					var idx int
					switch s.flatten {
					case "flatten":
						idx = (c*kh+y)*kw + xx
					case "nhwc-reshape":
						idx = (y*kw+xx)*cin + c
					default: // permute(0, 3, 2, 1): order W, H, C
						idx = (xx*kh+y)*cin + c
					}
					for o := range cout {
						w[o*K+idx] = t.Data[((y*kw+xx)*cin+c)*cout+o]
					}
				}
			}
		}
		switch s.flatten {
		case "permute-view":
			x = g.node("Transpose", "", []string{x}, intsAttr("perm", 0, 3, 2, 1))
			shape := g.node("Shape", "", []string{x})
			n0 := g.node("Gather", "", []string{shape, g.initInt64("zero", nil, []int64{0})}, intAttr("axis", 0))
			var n1 string
			if s.opset >= 13 {
				n1 = g.node("Unsqueeze", "", []string{n0, g.initInt64("axes0", []int64{1}, []int64{0})})
			} else {
				n1 = g.node("Unsqueeze", "", []string{n0}, intsAttr("axes", 0))
			}
			cat := g.node("Concat", "", []string{n1, g.initInt64("minus1", []int64{1}, []int64{-1})}, intAttr("axis", 0))
			x = g.node("Reshape", "", []string{x, cat})
		case "permute-flatten":
			x = g.node("Transpose", "", []string{x}, intsAttr("perm", 0, 3, 2, 1))
			x = g.node("Flatten", "", []string{x}, intAttr("axis", 1))
		case "nhwc-reshape":
			x = g.node("Transpose", "", []string{x}, intsAttr("perm", 0, 2, 3, 1))
			x = g.node("Reshape", "", []string{x, g.initInt64("flat", []int64{2}, []int64{-1, int64(K)})})
		default:
			x = g.node("Flatten", "", []string{x})
		}
		x = linear(x, st.conv, w, K, cout, hw(st.conv+"/biases").Data)
		x = prelu(x, st.prelu+"/weights", true)
		for _, h := range a.heads {
			t := hw(h.conv + "/weights")
			cin, cout := t.Shape[2], t.Shape[3]
			src := headOrder(cout)
			w := make([]float32, cin*cout)
			b := make([]float32, cout)
			for o := range cout {
				b[o] = hw(h.conv + "/biases").Data[src[o]]
				for i := range cin {
					w[o*cin+i] = t.Data[i*cout+src[o]]
				}
			}
			y := linear(x, h.conv, w, cin, cout, b)
			if h.softmax {
				y = g.node("Softmax", "", []string{y}, intAttr("axis", 1))
			}
			outs = append(outs, y)
		}
	}
	// facenet-pytorch returns (reg, prob) and (reg, landmarks, prob).
	order := []int{1, 0}
	if k == nets.ONet {
		order = []int{1, 2, 0}
	}
	names := []string{"reg", "prob"}
	if k == nets.ONet {
		names = []string{"reg", "landmarks", "prob"}
	}
	for j, i := range order {
		y := g.node("Identity", names[j], []string{outs[i]})
		g.outs = append(g.outs, valueInfo(y, dtFloat, nil))
	}
	return g.model(s.opset, "", nil)
}
