package weights

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// A tiny protobuf encoder for building GraphDefs in tests.
func pbVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func pbBytes(b []byte, field int, data []byte) []byte {
	b = pbVarint(b, uint64(field)<<3|2)
	b = pbVarint(b, uint64(len(data)))
	return append(b, data...)
}

func pbInt(b []byte, field int, v uint64) []byte {
	return pbVarint(pbVarint(b, uint64(field)<<3), v)
}

// constNode encodes a Const NodeDef with a float32 tensor value.
func constNode(name string, dtype DataType, shape []int64, vals []float32) []byte {
	var sh []byte
	for _, d := range shape {
		sh = pbBytes(sh, 2, pbInt(nil, 1, uint64(d)))
	}
	var content []byte
	for _, v := range vals {
		content = binary.LittleEndian.AppendUint32(content, math.Float32bits(v))
	}
	tensor := pbInt(nil, 1, uint64(dtype))
	tensor = pbBytes(tensor, 2, sh)
	tensor = pbBytes(tensor, 4, content)
	attr := pbBytes(nil, 1, []byte("value"))
	attr = pbBytes(attr, 2, pbBytes(nil, 8, tensor))
	n := pbBytes(nil, 1, []byte(name))
	n = pbBytes(n, 2, []byte("Const"))
	return pbBytes(n, 5, attr)
}

// syntheticGraph encodes a GraphDef holding every tensor of the layout with
// small values, applying edit to each (name, shape) first.
func syntheticGraph(edit func(name string, shape []int64) (string, DataType, []int64, bool)) []byte {
	var g []byte
	for _, s := range layout {
		shape := make([]int64, len(s.shape))
		for i, d := range s.shape {
			shape[i] = int64(d)
		}
		if strings.Contains(s.name, "PReLU") || strings.Contains(s.name, "prelu") {
			shape = append([]int64{1, 1}, shape...)
		}
		name, dtype, shape, ok := edit(s.name, shape)
		if !ok {
			continue
		}
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(i%7) / 8
		}
		g = pbBytes(g, 1, constNode(name, dtype, shape, vals))
	}
	return g
}

func keep(name string, shape []int64) (string, DataType, []int64, bool) {
	return name, DTFloat, shape, true
}

func TestFromGraphDefSynthetic(t *testing.T) {
	m, err := FromGraphDef(syntheticGraph(keep))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Tensor("rnet/prelu4/weights").Shape; len(got) != 1 || got[0] != 128 {
		t.Errorf("PReLU slopes shape %v, want [128]", got)
	}
	if got := m.Tensor("onet/conv1/weights").Data[8]; got != 1.0/8 {
		t.Errorf("value %v, want 0.125", got)
	}
}

func TestFromGraphDefErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string, []int64) (string, DataType, []int64, bool)
		want error
		msg  string
	}{
		{"missing tensor", func(n string, s []int64) (string, DataType, []int64, bool) {
			return n, DTFloat, s, n != "rnet/conv3/biases"
		}, ErrMissingTensor, `"rnet/conv3/biases"`},
		{"wrong dtype", func(n string, s []int64) (string, DataType, []int64, bool) {
			if n == "onet/conv2/weights" {
				return n, DTDouble, s, true
			}
			return n, DTFloat, s, true
		}, ErrShape, `"onet/conv2/weights" is float64`},
		{"wrong channel count", func(n string, s []int64) (string, DataType, []int64, bool) {
			if n == "pnet/conv2/weights" {
				s = []int64{3, 3, 10, 17}
			}
			return n, DTFloat, s, true
		}, ErrShape, `"pnet/conv2/weights" has shape [3 3 10 17], want [3 3 10 16]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromGraphDef(syntheticGraph(tc.edit))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestParseGraphDefMalformed(t *testing.T) {
	good := syntheticGraph(keep)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not protobuf", []byte("hello, world")},
		{"truncated", good[:len(good)-9]},
		{"huge length", pbVarint(pbVarint(nil, 1<<3|2), 1<<62)},
		{"bad wire type", []byte{0x0f}},
		{"field zero", []byte{0x00, 0x01}},
		{"endless varint", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"node is varint", pbInt(nil, 1, 5)},
		{"tensor content too short", pbBytes(nil, 1, constNode("pnet/conv1/biases", DTFloat, []int64{10}, []float32{1, 2}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FromGraphDef(tc.data); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrMissingTensor) {
				t.Errorf("error %v, want ErrFormat", err)
			}
		})
	}
}

// TestRealGraph lists the reference graph's Const nodes and checks every
// truncation of it is rejected without a panic.
func TestRealGraph(t *testing.T) {
	pb, err := os.ReadFile(testenv.Path(t, "models", "mtcnn.pb"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseGraphDef(pb)
	if err != nil {
		t.Fatal(err)
	}
	consts := g.Consts()
	found := 0
	for _, c := range consts {
		if want := Shape(c.Name); want != nil {
			found++
			if c.DType != DTFloat {
				t.Errorf("%s: %v", c.Name, c.DType)
			}
		}
	}
	if found != len(layout) {
		t.Errorf("found %d of %d weight tensors among %d Const nodes", found, len(layout), len(consts))
	}
	if n := g.Node("input"); n == nil || n.Op != "Placeholder" {
		t.Errorf("no input placeholder: %+v", n)
	}
	for n := 0; n < len(pb); n += 1 + n/20 {
		if _, err := FromGraphDef(pb[:n]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
}

// TestShorthandBounded checks that a tiny Const claiming a huge shape
// through the one-value shorthand is refused rather than allocated.
func TestShorthandBounded(t *testing.T) {
	tp := TensorProto{DType: DTFloat, Shape: []int64{46340, 46340}, FloatVal: []float32{1}}
	if _, err := tp.Float32s(); err == nil || !strings.Contains(err.Error(), "elements") {
		t.Errorf("error %v, want a size error", err)
	}
	tp.Shape = []int64{1 << 62, 4}
	if _, err := tp.NumElements(); err == nil {
		t.Error("overflowing shape accepted")
	}
}
