package onnxmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// Opset is the default-domain ONNX operator set version of the files
// Encode writes; IRVersion is their IR version.
const (
	Opset     = 13
	IRVersion = 7
)

// FileName returns the file name WriteDir and Load use for net k:
// "pnet.onnx", "rnet.onnx" or "onet.onnx".
func FileName(k nets.Kind) string {
	switch k {
	case nets.PNet:
		return "pnet.onnx"
	case nets.RNet:
		return "rnet.onnx"
	case nets.ONet:
		return "onet.onnx"
	}
	return fmt.Sprintf("net%d.onnx", int(k))
}

// Encode returns net k of model m as an ONNX model (see the package
// documentation for its inputs, outputs and layout). The output depends
// only on the weights.
func Encode(m *weights.Model, k nets.Kind) ([]byte, error) {
	if k < nets.PNet || k > nets.ONet {
		return nil, fmt.Errorf("onnxmodel: unknown net kind %d", int(k))
	}
	a := archOf(k)
	tensor := func(name string) (*weights.Tensor, error) {
		t := m.Tensor(name)
		if t == nil {
			return nil, fmt.Errorf("onnxmodel: %v: %w: %q", k, weights.ErrMissingTensor, name)
		}
		if want := weights.Shape(name); !slices.Equal(t.Shape, want) || len(t.Data) != product(want) {
			return nil, fmt.Errorf("onnxmodel: %v: %w: %q has shape %v, want %v", k, weights.ErrShape, name, t.Shape, want)
		}
		return t, nil
	}
	g := &graphBuilder{name: netPrefix(k)}
	in := k.InputSize()
	inDims := []dim{{param: "N"}, {size: 3}, {size: int64(in)}, {size: int64(in)}}
	if k == nets.PNet {
		inDims[2], inDims[3] = dim{param: "H"}, dim{param: "W"}
	}
	g.ins = append(g.ins, valueInfo("input", dtFloat, inDims))
	sizes, _ := a.spatial(in)
	x := "input"
	for i, s := range a.steps {
		if s.conv == "" {
			attrs := []msg{intsAttr("kernel_shape", int64(s.k), int64(s.k)), intsAttr("strides", int64(s.s), int64(s.s))}
			switch {
			case s.same && k == nets.PNet:
				attrs = append(attrs, stringAttr("auto_pad", "SAME_UPPER"))
			case s.same:
				out, before := tfPoolOut(sizes[i], s.k, s.s, true)
				after := (out-1)*s.s + s.k - sizes[i] - before
				attrs = append(attrs, intsAttr("pads", int64(before), int64(before), int64(after), int64(after)))
			}
			x = g.node("MaxPool", fmt.Sprintf("pool%d", i+1), []string{x}, attrs...)
			continue
		}
		w, err := tensor(s.conv + "/weights")
		if err != nil {
			return nil, err
		}
		b, err := tensor(s.conv + "/biases")
		if err != nil {
			return nil, err
		}
		p, err := tensor(s.prelu + "/weights")
		if err != nil {
			return nil, err
		}
		kh, kw, cin, cout := kernel(s.conv)
		wn := g.init(w.Name, []int64{int64(cout), int64(cin), int64(kh), int64(kw)}, hwioToOIHW(w.Data, kh, kw, cin, cout))
		bn := g.init(b.Name, []int64{int64(cout)}, b.Data)
		pn := g.init(p.Name, []int64{int64(cout), 1, 1}, p.Data)
		x = g.node("Conv", s.conv, []string{x, wn, bn}, intsAttr("kernel_shape", int64(kh), int64(kw)))
		x = g.node("PRelu", s.prelu, []string{x, pn})
	}
	if k != nets.PNet {
		x = g.node("Flatten", netPrefix(k)+"/flatten", []string{x}, intAttr("axis", 1))
	}
	for _, h := range a.heads {
		w, err := tensor(h.conv + "/weights")
		if err != nil {
			return nil, err
		}
		b, err := tensor(h.conv + "/biases")
		if err != nil {
			return nil, err
		}
		_, _, cin, cout := kernel(h.conv)
		name := h.output
		if h.softmax {
			name = h.conv
		}
		bn := g.init(b.Name, []int64{int64(cout)}, b.Data)
		var y string
		if k == nets.PNet {
			wn := g.init(w.Name, []int64{int64(cout), int64(cin), 1, 1}, hwioToOIHW(w.Data, 1, 1, cin, cout))
			y = g.node("Conv", name, []string{x, wn, bn}, intsAttr("kernel_shape", 1, 1))
		} else {
			// Gemm with transB: B is [out, in], the transposed 1x1 kernel.
			wn := g.init(w.Name, []int64{int64(cout), int64(cin)}, hwioToOIHW(w.Data, 1, 1, cin, cout))
			y = g.node("Gemm", name, []string{x, wn, bn}, intAttr("transB", 1))
		}
		if h.softmax {
			y = g.node("Softmax", h.output, []string{y}, intAttr("axis", 1))
		}
		outDims := []dim{{param: "N"}, {size: int64(cout)}}
		if k == nets.PNet {
			outDims = append(outDims, dim{param: "H'"}, dim{param: "W'"})
		}
		g.outs = append(g.outs, valueInfo(y, dtFloat, outDims))
	}
	doc := fmt.Sprintf("MTCNN %v. Input NCHW, BGR, (pixel-127.5)/128. prob: softmax, channel 1 = face; "+
		"reg: y1, x1, y2, x2; landmarks: y1..y5, x1..x5.", k)
	meta := [][2]string{
		{"mtcnn.net", netPrefix(k)}, {"mtcnn.layout", "NCHW"}, {"mtcnn.channels", "BGR"},
		{"mtcnn.normalisation", "(x-127.5)/128"}, {"mtcnn.coordinates", "yx"},
	}
	return g.model(Opset, doc, meta), nil
}

// WriteDir writes pnet.onnx, rnet.onnx and onet.onnx for model m into dir,
// creating dir if needed and replacing files already there.
func WriteDir(m *weights.Model, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("onnxmodel: %w", err)
	}
	for _, k := range allKinds {
		data, err := Encode(m, k)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, FileName(k)), data, 0o644); err != nil {
			return fmt.Errorf("onnxmodel: %w", err)
		}
	}
	return nil
}

func netPrefix(k nets.Kind) string {
	switch k {
	case nets.PNet:
		return "pnet"
	case nets.RNet:
		return "rnet"
	}
	return "onet"
}

// hwioToOIHW transposes a [kh, kw, cin, cout] kernel to [cout, cin, kh, kw].
func hwioToOIHW(w []float32, kh, kw, cin, cout int) []float32 {
	out := make([]float32, len(w))
	for y := range kh {
		for x := range kw {
			for i := range cin {
				for o := range cout {
					out[((o*cin+i)*kh+y)*kw+x] = w[((y*kw+x)*cin+i)*cout+o]
				}
			}
		}
	}
	return out
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
