package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrFormat is wrapped by every error that reports a malformed frozen graph
// or weights file, so callers can tell bad input from I/O failures.
var ErrFormat = errors.New("malformed model file")

// DataType is a TensorFlow DataType enum value (types.proto).
type DataType int32

// The TensorFlow data types this package decodes or names in errors.
const (
	DTFloat  DataType = 1
	DTDouble DataType = 2
	DTInt32  DataType = 3
	DTUint8  DataType = 4
	DTString DataType = 7
	DTInt64  DataType = 9
	DTBool   DataType = 10
)

// String returns TensorFlow's name for the data type.
func (t DataType) String() string {
	switch t {
	case DTFloat:
		return "float32"
	case DTDouble:
		return "float64"
	case DTInt32:
		return "int32"
	case DTUint8:
		return "uint8"
	case DTString:
		return "string"
	case DTInt64:
		return "int64"
	case DTBool:
		return "bool"
	}
	return fmt.Sprintf("dtype(%d)", int32(t))
}

// Node is one NodeDef of a GraphDef: enough of it to list the graph and to
// read Const values.
type Node struct {
	Name   string
	Op     string
	Inputs []string
	// Attrs holds the node's attributes by name.
	Attrs map[string]Attr
}

// Attr is a decoded AttrValue. Only the members TensorFlow uses for the value
// kind are set; Tensor is non-nil for tensor-valued attributes such as a
// Const node's "value".
type Attr struct {
	S      []byte
	I      int64
	F      float32
	B      bool
	Type   DataType
	Shape  []int64
	Tensor *TensorProto
	// List holds list(int) values (strides, ksize), the common list kind.
	List []int64
}

// TensorProto is a decoded tf.TensorProto. Values are kept in the encoding the
// file used: either packed little-endian bytes in Content or typed repeated
// fields; Float32s and Int32s normalise the two.
type TensorProto struct {
	DType    DataType
	Shape    []int64
	Content  []byte
	FloatVal []float32
	IntVal   []int32
	Int64Val []int64
}

// Graph is a decoded GraphDef.
type Graph struct {
	Nodes []Node
}

// maxDims bounds the rank a shape may claim; TensorFlow itself caps it at 254.
const maxDims = 254

// maxElements bounds the elements a tensor may claim: far above any MTCNN
// weight (the largest has 294,912), far below what a 30-byte Const using
// TensorFlow's fill-with-one-value shorthand could otherwise make us
// allocate.
const maxElements = 1 << 26

// ParseGraphDef decodes a binary tf.GraphDef (a frozen .pb file). It checks
// every length against the input, so truncated or corrupt data yields an
// error wrapping ErrFormat, never a panic.
func ParseGraphDef(data []byte) (*Graph, error) {
	g := &Graph{}
	err := eachField(data, func(f field) error {
		if f.num != 1 { // versions, library: not needed
			return nil
		}
		if f.typ != wireBytes {
			return fmt.Errorf("GraphDef.node has wire type %d", f.typ)
		}
		n, err := parseNode(f.data)
		if err != nil {
			return fmt.Errorf("node %d: %w", len(g.Nodes), err)
		}
		g.Nodes = append(g.Nodes, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: GraphDef: %w", ErrFormat, err)
	}
	if len(g.Nodes) == 0 {
		return nil, fmt.Errorf("%w: GraphDef has no nodes", ErrFormat)
	}
	return g, nil
}

func parseNode(msg []byte) (Node, error) {
	n := Node{Attrs: map[string]Attr{}}
	err := eachField(msg, func(f field) error {
		if f.num <= 5 && f.typ != wireBytes {
			return fmt.Errorf("NodeDef field %d has wire type %d", f.num, f.typ)
		}
		switch f.num {
		case 1:
			n.Name = string(f.data)
		case 2:
			n.Op = string(f.data)
		case 3:
			n.Inputs = append(n.Inputs, string(f.data))
		case 5:
			k, v, err := parseAttrEntry(f.data)
			if err != nil {
				return fmt.Errorf("attr: %w", err)
			}
			n.Attrs[k] = v
		}
		return nil
	})
	if err != nil && n.Name != "" {
		err = fmt.Errorf("%q: %w", n.Name, err)
	}
	return n, err
}

func parseAttrEntry(msg []byte) (string, Attr, error) {
	var key string
	var val Attr
	err := eachField(msg, func(f field) error {
		if f.typ != wireBytes {
			return fmt.Errorf("map entry field %d has wire type %d", f.num, f.typ)
		}
		switch f.num {
		case 1:
			key = string(f.data)
		case 2:
			var err error
			val, err = parseAttrValue(f.data)
			if err != nil {
				return fmt.Errorf("%q: %w", key, err)
			}
		}
		return nil
	})
	return key, val, err
}

func parseAttrValue(msg []byte) (Attr, error) {
	var a Attr
	err := eachField(msg, func(f field) error {
		var err error
		switch f.num {
		case 1:
			err = expectWire(f, wireBytes)
			if err == nil {
				a.List, err = parseIntList(f.data)
			}
		case 2:
			err = expectWire(f, wireBytes)
			a.S = f.data
		case 3:
			err = expectWire(f, wireVarint)
			a.I = int64(f.u)
		case 4:
			err = expectWire(f, wireFixed32)
			a.F = math.Float32frombits(uint32(f.u))
		case 5:
			err = expectWire(f, wireVarint)
			a.B = f.u != 0
		case 6:
			err = expectWire(f, wireVarint)
			a.Type = DataType(f.u)
		case 7:
			err = expectWire(f, wireBytes)
			if err == nil {
				a.Shape, err = parseShape(f.data)
			}
		case 8:
			err = expectWire(f, wireBytes)
			if err == nil {
				var t TensorProto
				t, err = parseTensor(f.data)
				a.Tensor = &t
			}
		}
		return err
	})
	return a, err
}

func expectWire(f field, t wireType) error {
	if f.typ != t {
		return fmt.Errorf("field %d has wire type %d, want %d", f.num, f.typ, t)
	}
	return nil
}

// parseIntList reads the int list (field 3) of an AttrValue.ListValue,
// packed or not; other list kinds are skipped.
func parseIntList(msg []byte) ([]int64, error) {
	var out []int64
	err := eachField(msg, func(f field) error {
		if f.num != 3 {
			return nil
		}
		switch f.typ {
		case wireVarint:
			out = append(out, int64(f.u))
		case wireBytes:
			r := protoReader{buf: f.data}
			for !r.done() {
				v, err := r.varint()
				if err != nil {
					return err
				}
				out = append(out, int64(v))
			}
		default:
			return fmt.Errorf("list.i has wire type %d", f.typ)
		}
		return nil
	})
	return out, err
}

// parseShape reads a TensorShapeProto. Unknown dimensions stay -1.
func parseShape(msg []byte) ([]int64, error) {
	dims := []int64{}
	err := eachField(msg, func(f field) error {
		if f.num != 2 {
			return nil
		}
		if err := expectWire(f, wireBytes); err != nil {
			return err
		}
		if len(dims) >= maxDims {
			return fmt.Errorf("shape has more than %d dimensions", maxDims)
		}
		size := int64(0)
		err := eachField(f.data, func(d field) error {
			if d.num == 1 {
				if err := expectWire(d, wireVarint); err != nil {
					return err
				}
				size = int64(d.u)
			}
			return nil
		})
		dims = append(dims, size)
		return err
	})
	return dims, err
}

func parseTensor(msg []byte) (TensorProto, error) {
	var t TensorProto
	err := eachField(msg, func(f field) error {
		var err error
		switch f.num {
		case 1:
			err = expectWire(f, wireVarint)
			t.DType = DataType(f.u)
		case 2:
			err = expectWire(f, wireBytes)
			if err == nil {
				t.Shape, err = parseShape(f.data)
			}
		case 4:
			err = expectWire(f, wireBytes)
			t.Content = f.data
		case 5: // float_val, packed or one per field
			switch f.typ {
			case wireFixed32:
				t.FloatVal = append(t.FloatVal, math.Float32frombits(uint32(f.u)))
			case wireBytes:
				if len(f.data)%4 != 0 {
					return errors.New("packed float_val length is not a multiple of 4")
				}
				for i := 0; i < len(f.data); i += 4 {
					t.FloatVal = append(t.FloatVal, math.Float32frombits(binary.LittleEndian.Uint32(f.data[i:])))
				}
			default:
				err = fmt.Errorf("float_val has wire type %d", f.typ)
			}
		case 7, 10: // int_val, int64_val
			var vals []int64
			switch f.typ {
			case wireVarint:
				vals = []int64{int64(f.u)}
			case wireBytes:
				r := protoReader{buf: f.data}
				for !r.done() {
					v, e := r.varint()
					if e != nil {
						return e
					}
					vals = append(vals, int64(v))
				}
			default:
				err = fmt.Errorf("field %d has wire type %d", f.num, f.typ)
			}
			for _, v := range vals {
				if f.num == 7 {
					t.IntVal = append(t.IntVal, int32(v))
				} else {
					t.Int64Val = append(t.Int64Val, v)
				}
			}
		}
		return err
	})
	return t, err
}

// NumElements returns the product of the tensor's dimensions, or an error
// when a dimension is negative or the product overflows.
func (t *TensorProto) NumElements() (int, error) {
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return 0, fmt.Errorf("unknown dimension in shape %v", t.Shape)
		}
		if d != 0 && n > maxElements/int(min(d, maxElements+1)) {
			return 0, fmt.Errorf("shape %v has more than %d elements", t.Shape, maxElements)
		}
		n *= int(d)
	}
	return n, nil
}

// Float32s returns the values of a float32 tensor, expanding TensorFlow's
// shorthand where a single float_val fills the whole tensor.
func (t *TensorProto) Float32s() ([]float32, error) {
	if t.DType != DTFloat {
		return nil, fmt.Errorf("dtype is %v, want float32", t.DType)
	}
	n, err := t.NumElements()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	switch {
	case len(t.Content) > 0:
		if len(t.Content) != 4*n {
			return nil, fmt.Errorf("tensor_content has %d bytes, shape %v needs %d", len(t.Content), t.Shape, 4*n)
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Content[4*i:]))
		}
	case len(t.FloatVal) == n:
		copy(out, t.FloatVal)
	case len(t.FloatVal) > 0 && len(t.FloatVal) < n:
		// TensorFlow repeats the last value to fill the tensor.
		copy(out, t.FloatVal)
		for i := len(t.FloatVal); i < n; i++ {
			out[i] = t.FloatVal[len(t.FloatVal)-1]
		}
	case n == 0:
	default:
		return nil, fmt.Errorf("tensor holds %d values, shape %v needs %d", len(t.FloatVal), t.Shape, n)
	}
	return out, nil
}

// ConstInfo describes one Const node: its name, dtype and shape.
type ConstInfo struct {
	Name  string
	DType DataType
	Shape []int64
}

// Consts lists the graph's Const nodes sorted by name.
func (g *Graph) Consts() []ConstInfo {
	var out []ConstInfo
	for _, n := range g.Nodes {
		if n.Op != "Const" {
			continue
		}
		ci := ConstInfo{Name: n.Name}
		if v, ok := n.Attrs["value"]; ok && v.Tensor != nil {
			ci.DType = v.Tensor.DType
			ci.Shape = v.Tensor.Shape
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Node returns the node with the given name, or nil.
func (g *Graph) Node(name string) *Node {
	for i := range g.Nodes {
		if g.Nodes[i].Name == name {
			return &g.Nodes[i]
		}
	}
	return nil
}
