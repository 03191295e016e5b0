package onnxmodel

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Limits checked before a model is handed to onnx-go's decoder, which
// allocates tensors of whatever shape a file declares: a hostile file must
// yield an error, not exhaust memory.
const (
	// MaxModelBytes is the largest ONNX file Load reads. The three MTCNN
	// nets take about 0.03, 0.4 and 1.6 MB.
	MaxModelBytes = 64 << 20
	maxNodes      = 4096
	maxRank       = 8
	// maxElements bounds one tensor's element count and, added up, the
	// element counts of the shapes declared for graph inputs, outputs and
	// value infos (onnx-go allocates a tensor for each).
	maxElements = 1 << 24
)

// scanInfo is what the pre-scan learns that onnx-go's Backend interface
// does not pass on.
type scanInfo struct {
	opset    int64 // default-domain opset, 0 if not declared
	hasOpset bool
	inputs   map[string]decl // declared graph inputs by name
	inits    map[string]bool // initializer names
}

// decl is a declared tensor type: element type and dims, -1 for a dim
// that is symbolic or absent.
type decl struct {
	elem     int64
	dims     []int64
	hasShape bool
}

// fieldFunc receives one protobuf field: its number and wire type, the
// value of a varint or fixed field, the payload of a length-delimited one.
type fieldFunc func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error

// eachField walks the fields of one message. Groups are skipped.
func eachField(b []byte, fn fieldFunc) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var data []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			data, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.StartGroupType {
			continue
		}
		if err := fn(num, typ, v, data); err != nil {
			return err
		}
	}
	return nil
}

// scan checks a ModelProto against the limits and collects scanInfo. Its
// errors wrap ErrFormat or ErrUnsupported.
func scan(data []byte) (*scanInfo, error) {
	if len(data) > MaxModelBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrFormat, len(data), MaxModelBytes)
	}
	s := &scanInfo{inputs: map[string]decl{}, inits: map[string]bool{}}
	var st scanState
	err := eachField(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch {
		case num == 7 && typ == protowire.BytesType:
			return st.graph(s, b)
		case num == 8 && typ == protowire.BytesType:
			var domain string
			var version int64
			var hasVersion bool
			err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					domain = string(b)
				case num == 2 && typ == protowire.VarintType:
					version, hasVersion = int64(v), true
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			if (domain == "" || domain == "ai.onnx") && hasVersion {
				s.opset, s.hasOpset = version, true
			}
		}
		return nil
	})
	if err != nil {
		if isTagged(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if !st.sawGraph {
		return nil, fmt.Errorf("%w: no graph (not an ONNX model?)", ErrFormat)
	}
	return s, nil
}

// tagged marks an error that already wraps a sentinel.
type tagged struct{ error }

func (t tagged) Unwrap() error { return t.error }

func isTagged(err error) bool {
	_, ok := err.(tagged)
	return ok
}

func formatErr(format string, a ...any) error {
	return tagged{fmt.Errorf("%w: "+format, append([]any{ErrFormat}, a...)...)}
}

func unsupportedErr(format string, a ...any) error {
	return tagged{fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, a...)...)}
}

// scanState carries the running totals across the graph.
type scanState struct {
	sawGraph     bool
	nodes        int
	declElements int64
}

func (st *scanState) graph(s *scanInfo, b []byte) error {
	st.sawGraph = true
	return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // node
			st.nodes++
			if st.nodes > maxNodes {
				return formatErr("more than %d nodes", maxNodes)
			}
			return st.node(b)
		case 5: // initializer
			name, err := checkTensor(b, "initializer")
			s.inits[name] = true
			return err
		case 6: // sparse_initializer
			return unsupportedErr("sparse initializers")
		case 11, 12, 13: // input, output, value_info
			name, d, err := st.valueInfo(b)
			if err != nil {
				return err
			}
			if num == 11 {
				s.inputs[name] = d
			}
		}
		return nil
	})
}

func (st *scanState) node(b []byte) error {
	var op, domain string
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 4:
			op = string(b)
		case 7:
			domain = string(b)
		case 5: // attribute
			return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
				switch {
				case num == 5 && typ == protowire.BytesType:
					_, err := checkTensor(b, "attribute tensor")
					return err
				case (num == 6 || num == 11) && typ == protowire.BytesType:
					return unsupportedErr("graph-valued attributes (subgraphs)")
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		if isTagged(err) {
			return err
		}
		return formatErr("node %q: %v", op, err)
	}
	if domain != "" && domain != "ai.onnx" {
		return unsupportedErr("operator %q of domain %q", op, domain)
	}
	return nil
}

func (st *scanState) valueInfo(b []byte) (string, decl, error) {
	var name string
	d := decl{}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			name = string(b)
		case 2: // TypeProto
			return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
				if num != 1 || typ != protowire.BytesType { // tensor_type
					return nil
				}
				return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
					switch {
					case num == 1 && typ == protowire.VarintType:
						d.elem = int64(v)
					case num == 2 && typ == protowire.BytesType:
						d.hasShape = true
						return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
							if num != 1 || typ != protowire.BytesType {
								return nil
							}
							if len(d.dims) >= maxRank {
								return formatErr("value %q has rank above %d", name, maxRank)
							}
							size := int64(-1)
							err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
								if num == 1 && typ == protowire.VarintType {
									size = int64(v)
									if size < 0 || size > maxElements {
										return formatErr("value %q has dimension %d", name, size)
									}
								}
								return nil
							})
							d.dims = append(d.dims, size)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	if err != nil {
		if isTagged(err) {
			return "", d, err
		}
		return "", d, formatErr("value info %q: %v", name, err)
	}
	n := int64(1)
	for _, x := range d.dims {
		if x > 0 {
			n *= x
		}
		if n > maxElements {
			return "", d, formatErr("value %q declares more than %d elements", name, maxElements)
		}
	}
	st.declElements += n
	if st.declElements > maxElements {
		return "", d, formatErr("declared values add up to more than %d elements", maxElements)
	}
	return name, d, nil
}

// elemSize returns the byte size of an ONNX element type that onnx-go can
// decode, or 0.
func elemSize(dt int64) int {
	switch dt {
	case dtFloat, 6: // FLOAT, INT32
		return 4
	case dtInt64, 11: // INT64, DOUBLE
		return 8
	}
	return 0
}

// checkTensor checks a TensorProto: a supported element type, a sane
// shape, inline data whose length fits the shape.
func checkTensor(b []byte, what string) (string, error) {
	var name string
	var dims []int64
	var dt int64
	counts := map[protowire.Number]int{}
	rawLen := -1
	external := false
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch num {
		case 1: // dims
			switch typ {
			case protowire.VarintType:
				dims = append(dims, int64(v))
			case protowire.BytesType:
				for len(data) > 0 {
					x, n := protowire.ConsumeVarint(data)
					if n < 0 {
						return protowire.ParseError(n)
					}
					dims = append(dims, int64(x))
					data = data[n:]
				}
			}
			if len(dims) > maxRank {
				return formatErr("%s has rank above %d", what, maxRank)
			}
		case 2:
			if typ == protowire.VarintType {
				dt = int64(v)
			}
		case 3:
			return unsupportedErr("segmented tensors")
		case 4, 5, 7, 10: // float_data, int32_data, int64_data, double_data
			switch {
			case typ == protowire.BytesType && (num == 4):
				counts[num] += len(data) / 4
			case typ == protowire.BytesType && num == 10:
				counts[num] += len(data) / 8
			case typ == protowire.BytesType:
				for len(data) > 0 {
					_, n := protowire.ConsumeVarint(data)
					if n < 0 {
						return protowire.ParseError(n)
					}
					counts[num]++
					data = data[n:]
				}
			default:
				counts[num]++
			}
		case 8:
			if typ == protowire.BytesType {
				name = string(data)
			}
		case 9:
			if typ == protowire.BytesType {
				rawLen = len(data)
			}
		case 14:
			external = typ == protowire.VarintType && v == 1
		}
		return nil
	})
	if err != nil {
		if isTagged(err) {
			return name, err
		}
		return name, formatErr("%s %q: %v", what, name, err)
	}
	if external {
		return name, unsupportedErr("%s %q: external data", what, name)
	}
	size := elemSize(dt)
	if size == 0 {
		return name, unsupportedErr("%s %q has data type %d; want float32, int32, int64 or double", what, name, dt)
	}
	n := int64(1)
	for _, d := range dims {
		if d < 0 || d > maxElements {
			return name, formatErr("%s %q has dimension %d", what, name, d)
		}
		n *= d
		if n > maxElements {
			return name, formatErr("%s %q has more than %d elements", what, name, maxElements)
		}
	}
	var have int
	switch {
	case rawLen >= 0:
		if rawLen%size != 0 {
			return name, formatErr("%s %q: raw_data of %d bytes is not a whole number of elements", what, name, rawLen)
		}
		have = rawLen / size
	default:
		field := map[int64]protowire.Number{dtFloat: 4, 6: 5, dtInt64: 7, 11: 10}[dt]
		have = counts[field]
	}
	if int64(have) != n {
		return name, formatErr("%s %q has %d values, shape %v needs %d", what, name, have, dims, n)
	}
	if n == 0 {
		return name, unsupportedErr("%s %q is empty", what, name)
	}
	return name, nil
}
