package onnxmodel

import (
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// A minimal writer for the ONNX protobuf messages (onnx.proto, IR version
// 7) this package emits. Field numbers are onnx.proto's.

// ONNX TensorProto.DataType values.
const (
	dtFloat = 1
	dtUint8 = 2
	dtInt64 = 7
)

// AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

// msg is an encoded protobuf message.
type msg []byte

func (m msg) varint(num protowire.Number, v uint64) msg {
	m = protowire.AppendTag(m, num, protowire.VarintType)
	return protowire.AppendVarint(m, v)
}

func (m msg) bytes(num protowire.Number, b []byte) msg {
	m = protowire.AppendTag(m, num, protowire.BytesType)
	return protowire.AppendBytes(m, b)
}

func (m msg) str(num protowire.Number, s string) msg { return m.bytes(num, []byte(s)) }

func (m msg) fixed32(num protowire.Number, v uint32) msg {
	m = protowire.AppendTag(m, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(m, v)
}

// packedInts appends a packed repeated int64 field.
func (m msg) packedInts(num protowire.Number, vs []int64) msg {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, uint64(v))
	}
	return m.bytes(num, p)
}

// floatTensor encodes a float32 TensorProto with raw little-endian data.
func floatTensor(name string, dims []int64, data []float32) msg {
	raw := make([]byte, 0, 4*len(data))
	for _, v := range data {
		raw = protowire.AppendFixed32(raw, math.Float32bits(v))
	}
	var t msg
	t = t.packedInts(1, dims)
	t = t.varint(2, dtFloat)
	if name != "" {
		t = t.str(8, name)
	}
	return t.bytes(9, raw)
}

// int64Tensor encodes an int64 TensorProto with raw little-endian data.
func int64Tensor(name string, dims []int64, data []int64) msg {
	raw := make([]byte, 0, 8*len(data))
	for _, v := range data {
		raw = protowire.AppendFixed64(raw, uint64(v))
	}
	var t msg
	t = t.packedInts(1, dims)
	t = t.varint(2, dtInt64)
	if name != "" {
		t = t.str(8, name)
	}
	return t.bytes(9, raw)
}

// attribute constructors: AttributeProto name(1) f(2) i(3) s(4) t(5)
// floats(7) ints(8) type(20).

func intAttr(name string, v int64) msg {
	return msg(nil).str(1, name).varint(3, uint64(v)).varint(20, attrInt)
}

func intsAttr(name string, vs ...int64) msg {
	return msg(nil).str(1, name).packedInts(8, vs).varint(20, attrInts)
}

func floatAttr(name string, v float32) msg {
	return msg(nil).str(1, name).fixed32(2, math.Float32bits(v)).varint(20, attrFloat)
}

func stringAttr(name, v string) msg {
	return msg(nil).str(1, name).str(4, v).varint(20, attrString)
}

// dim is one TensorShapeProto dimension: a size, or a symbolic name when
// param is set.
type dim struct {
	size  int64
	param string
}

// valueInfo encodes a ValueInfoProto for a tensor of the given element type
// and shape; nil dims leave the shape unstated.
func valueInfo(name string, elem int, dims []dim) msg {
	var shape msg
	for _, d := range dims {
		var dm msg
		if d.param != "" {
			dm = dm.str(2, d.param)
		} else {
			dm = dm.varint(1, uint64(d.size))
		}
		shape = shape.bytes(1, dm)
	}
	tensorType := msg(nil).varint(1, uint64(elem))
	if dims != nil {
		tensorType = tensorType.bytes(2, shape)
	}
	typ := msg(nil).bytes(1, tensorType)
	return msg(nil).str(1, name).bytes(2, typ)
}

// graphBuilder collects the parts of a GraphProto.
type graphBuilder struct {
	name                    string
	nodes, inits, ins, outs []msg
	count                   int
}

// init adds an initializer and returns its name; an empty name is
// replaced by a unique one.
func (g *graphBuilder) init(name string, dims []int64, data []float32) string {
	if name == "" {
		g.count++
		name = "init_" + strconv.Itoa(g.count)
	}
	g.inits = append(g.inits, floatTensor(name, dims, data))
	return name
}

// initInt64 adds an int64 initializer and returns its name; an empty name
// is replaced by a unique one.
func (g *graphBuilder) initInt64(name string, dims []int64, data []int64) string {
	if name == "" {
		g.count++
		name = "init_" + strconv.Itoa(g.count)
	}
	g.inits = append(g.inits, int64Tensor(name, dims, data))
	return name
}

// node adds a NodeProto with one output named after the node and returns
// that output's name.
func (g *graphBuilder) node(op, name string, inputs []string, attrs ...msg) string {
	return g.nodeOuts(op, name, inputs, []string{name}, attrs...)[0]
}

// nodeOuts adds a NodeProto with the given outputs.
func (g *graphBuilder) nodeOuts(op, name string, inputs, outputs []string, attrs ...msg) []string {
	if name == "" {
		g.count++
		name = op + "_" + strconv.Itoa(g.count)
		if len(outputs) == 1 && outputs[0] == "" {
			outputs = []string{name}
		}
	}
	var n msg
	for _, in := range inputs {
		n = n.str(1, in)
	}
	for _, out := range outputs {
		n = n.str(2, out)
	}
	n = n.str(3, name).str(4, op)
	for _, a := range attrs {
		n = n.bytes(5, a)
	}
	g.nodes = append(g.nodes, n)
	return outputs
}

// model encodes the ModelProto.
func (g *graphBuilder) model(opset int64, doc string, meta [][2]string) []byte {
	var gr msg
	for _, n := range g.nodes {
		gr = gr.bytes(1, n)
	}
	gr = gr.str(2, g.name)
	for _, t := range g.inits {
		gr = gr.bytes(5, t)
	}
	if doc != "" {
		gr = gr.str(10, doc)
	}
	for _, v := range g.ins {
		gr = gr.bytes(11, v)
	}
	for _, v := range g.outs {
		gr = gr.bytes(12, v)
	}
	var m msg
	m = m.varint(1, 7) // ir_version
	m = m.str(2, "github.com/mtcnn-go/mtcnn/onnxmodel")
	m = m.bytes(7, gr)
	m = m.bytes(8, msg(nil).str(1, "").varint(2, uint64(opset)))
	for _, kv := range meta {
		m = m.bytes(14, msg(nil).str(1, kv[0]).str(2, kv[1]))
	}
	return m
}
