package weights

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"
)

// Tensor is one named float32 weight tensor. Convolution kernels are HWIO
// (kernel height, kernel width, input channels, output channels), as in the
// frozen graph; biases and PReLU slopes are flat per-channel vectors.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// spec names one tensor every MTCNN model must hold and the shape it must
// have. The order is the order of the converted file.
type spec struct {
	name  string
	shape []int
}

// conv returns the kernel, bias and (optionally) PReLU specs of one layer.
func conv(net, layer, prelu string, kh, kw, in, out int) []spec {
	s := []spec{
		{net + "/" + layer + "/weights", []int{kh, kw, in, out}},
		{net + "/" + layer + "/biases", []int{out}},
	}
	if prelu != "" {
		// Stored as [1, 1, C] in the graph; kept flat here.
		s = append(s, spec{net + "/" + prelu + "/weights", []int{out}})
	}
	return s
}

// Layout lists, in file order, every tensor a model holds with its shape:
// the architecture of the MTCNN P-Net, R-Net and O-Net.
var layout = func() []spec {
	var l []spec
	for _, group := range [][]spec{
		conv("pnet", "conv1", "PReLU1", 3, 3, 3, 10),
		conv("pnet", "conv2", "PReLU2", 3, 3, 10, 16),
		conv("pnet", "conv3", "PReLU3", 3, 3, 16, 32),
		conv("pnet", "conv4-1", "", 1, 1, 32, 2),
		conv("pnet", "conv4-2", "", 1, 1, 32, 4),
		conv("rnet", "conv1", "prelu1", 3, 3, 3, 28),
		conv("rnet", "conv2", "prelu2", 3, 3, 28, 48),
		conv("rnet", "conv3", "prelu3", 2, 2, 48, 64),
		conv("rnet", "conv4", "prelu4", 3, 3, 64, 128),
		conv("rnet", "conv5-1", "", 1, 1, 128, 2),
		conv("rnet", "conv5-2", "", 1, 1, 128, 4),
		conv("onet", "conv1", "prelu1", 3, 3, 3, 32),
		conv("onet", "conv2", "prelu2", 3, 3, 32, 64),
		conv("onet", "conv3", "prelu3", 3, 3, 64, 64),
		conv("onet", "conv4", "prelu4", 2, 2, 64, 128),
		conv("onet", "conv5", "prelu5", 3, 3, 128, 256),
		conv("onet", "conv6-1", "", 1, 1, 256, 2),
		conv("onet", "conv6-2", "", 1, 1, 256, 4),
		conv("onet", "conv6-3", "", 1, 1, 256, 10),
	} {
		l = append(l, group...)
	}
	return l
}()

// Model holds the weights of the three MTCNN networks. A Model is read-only
// after construction and safe for concurrent use.
type Model struct {
	tensors map[string]*Tensor
	meta    map[string]string // optional provenance; see metadata.go
}

// Tensor returns the named tensor, or nil if the model has none by that name.
func (m *Model) Tensor(name string) *Tensor { return m.tensors[name] }

// Names returns the names of the model's tensors in file order.
func (m *Model) Names() []string {
	out := make([]string, len(layout))
	for i, s := range layout {
		out[i] = s.name
	}
	return out
}

// ErrMissingTensor is wrapped by errors about a tensor the model lacks.
var ErrMissingTensor = errors.New("missing tensor")

// ErrShape is wrapped by errors about a tensor of the wrong dtype or shape.
var ErrShape = errors.New("wrong tensor shape")

// FromGraphDef extracts the MTCNN weights from a TensorFlow frozen graph
// (such as the original mtcnn.pb, or a retrained model with the same node
// names), checking every tensor's dtype and shape.
func FromGraphDef(data []byte) (*Model, error) {
	g, err := ParseGraphDef(data)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*Node, len(g.Nodes))
	for i := range g.Nodes {
		if g.Nodes[i].Op == "Const" {
			byName[g.Nodes[i].Name] = &g.Nodes[i]
		}
	}
	m := &Model{tensors: make(map[string]*Tensor, len(layout))}
	for _, s := range layout {
		n := byName[s.name]
		if n == nil {
			return nil, fmt.Errorf("%w: frozen graph has no Const node %q", ErrMissingTensor, s.name)
		}
		v, ok := n.Attrs["value"]
		if !ok || v.Tensor == nil {
			return nil, fmt.Errorf("%w: Const node %q has no tensor value", ErrFormat, s.name)
		}
		if v.Tensor.DType != DTFloat {
			return nil, fmt.Errorf("%w: %q is %v, want float32", ErrShape, s.name, v.Tensor.DType)
		}
		if !graphShapeMatches(v.Tensor.Shape, s.shape) {
			return nil, fmt.Errorf("%w: %q has shape %v, want %v", ErrShape, s.name, v.Tensor.Shape, s.shape)
		}
		vals, err := v.Tensor.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrFormat, s.name, err)
		}
		if err := checkFinite(s.name, vals); err != nil {
			return nil, err
		}
		m.tensors[s.name] = &Tensor{Name: s.name, Shape: append([]int(nil), s.shape...), Data: vals}
	}
	return m, nil
}

// NewModel builds a model from tensors supplied by another reader (an ONNX
// importer, a test), checking that every tensor of the MTCNN layout is
// present exactly once with the right shape and finite values. Kernels must
// already be HWIO and PReLU slopes flat. The data is not copied.
func NewModel(tensors []*Tensor) (*Model, error) {
	m := &Model{tensors: make(map[string]*Tensor, len(layout))}
	for _, t := range tensors {
		if t == nil {
			continue
		}
		if _, dup := m.tensors[t.Name]; dup {
			return nil, fmt.Errorf("%w: tensor %q given twice", ErrFormat, t.Name)
		}
		m.tensors[t.Name] = t
	}
	for _, s := range layout {
		t := m.tensors[s.name]
		if t == nil {
			return nil, fmt.Errorf("%w: %q", ErrMissingTensor, s.name)
		}
		if !slices.Equal(t.Shape, s.shape) {
			return nil, fmt.Errorf("%w: %q has shape %v, want %v", ErrShape, s.name, t.Shape, s.shape)
		}
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		if len(t.Data) != n {
			return nil, fmt.Errorf("%w: %q has %d values, shape %v needs %d", ErrShape, s.name, len(t.Data), s.shape, n)
		}
		if err := checkFinite(s.name, t.Data); err != nil {
			return nil, err
		}
	}
	if len(m.tensors) != len(layout) {
		for name := range m.tensors {
			if !inLayout(name) {
				return nil, fmt.Errorf("%w: unexpected tensor %q", ErrFormat, name)
			}
		}
	}
	return m, nil
}

// Shape returns the shape the MTCNN layout requires for the named tensor,
// or nil if the layout has no such tensor.
func Shape(name string) []int {
	for _, s := range layout {
		if s.name == name {
			return append([]int(nil), s.shape...)
		}
	}
	return nil
}

func inLayout(name string) bool { return Shape(name) != nil }

// graphShapeMatches compares a graph shape with a layout shape, accepting
// the [1, 1, C] form the graph uses for PReLU slopes.
func graphShapeMatches(got []int64, want []int) bool {
	for len(got) > len(want) && got[0] == 1 {
		got = got[1:]
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != int64(want[i]) {
			return false
		}
	}
	return true
}

func checkFinite(name string, vals []float32) error {
	for i, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: %q element %d is %v", ErrFormat, name, i, v)
		}
	}
	return nil
}

// Magic is the first bytes of every converted weights file. The file holds
// Magic, the tensor count, then per tensor its name, rank, dims and
// little-endian float32 data in layout order, then a CRC-32 (IEEE) of all
// that.
const Magic = "MTCNNW\x00\x01"

// MarshalBinary encodes the model in the compact converted format that
// Decode reads, followed by the metadata section when the model has
// metadata. The output depends only on the weights (and metadata), so
// converting the same frozen graph twice gives identical bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(Magic)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(layout)))
	for _, s := range layout {
		t := m.tensors[s.name]
		if t == nil {
			return nil, fmt.Errorf("%w: %q", ErrMissingTensor, s.name)
		}
		_ = binary.Write(&b, binary.LittleEndian, uint16(len(t.Name)))
		b.WriteString(t.Name)
		b.WriteByte(byte(len(t.Shape)))
		for _, d := range t.Shape {
			_ = binary.Write(&b, binary.LittleEndian, uint32(d))
		}
		for _, v := range t.Data {
			_ = binary.Write(&b, binary.LittleEndian, math.Float32bits(v))
		}
	}
	_ = binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(b.Bytes()))
	return appendMeta(b.Bytes(), m.meta)
}

// Decode reads a converted weights file written by MarshalBinary, checking
// its checksum and every tensor's name and shape against the MTCNN layout,
// and its optional metadata section.
func Decode(data []byte) (*Model, error) {
	data, meta, err := splitMeta(data)
	if err != nil {
		return nil, err
	}
	m, err := decodeWeights(data)
	if err != nil {
		return nil, err
	}
	m.meta = meta
	return m, nil
}

func decodeWeights(data []byte) (*Model, error) {
	if len(data) < len(Magic)+8 || string(data[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: not an MTCNN weights file (bad magic)", ErrFormat)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or corrupt file)", ErrFormat)
	}
	r := body[len(Magic):]
	take := func(n int) ([]byte, error) {
		if n > len(r) {
			return nil, io.ErrUnexpectedEOF
		}
		p := r[:n]
		r = r[n:]
		return p, nil
	}
	p, _ := take(4)
	if n := binary.LittleEndian.Uint32(p); n != uint32(len(layout)) {
		return nil, fmt.Errorf("%w: file holds %d tensors, want %d", ErrShape, n, len(layout))
	}
	m := &Model{tensors: make(map[string]*Tensor, len(layout))}
	for _, s := range layout {
		t, err := decodeTensor(take, s)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %w", ErrFormat, s.name, err)
		}
		if err := checkFinite(s.name, t.Data); err != nil {
			return nil, err
		}
		m.tensors[s.name] = t
	}
	if len(r) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrFormat, len(r))
	}
	return m, nil
}

func decodeTensor(take func(int) ([]byte, error), s spec) (*Tensor, error) {
	p, err := take(2)
	if err != nil {
		return nil, err
	}
	name, err := take(int(binary.LittleEndian.Uint16(p)))
	if err != nil {
		return nil, err
	}
	if string(name) != s.name {
		return nil, fmt.Errorf("found %q in its place", name)
	}
	p, err = take(1)
	if err != nil {
		return nil, err
	}
	rank := int(p[0])
	if rank != len(s.shape) {
		return nil, fmt.Errorf("%w: rank %d, want %d", ErrShape, rank, len(s.shape))
	}
	t := &Tensor{Name: s.name, Shape: make([]int, rank)}
	for i := range t.Shape {
		p, err = take(4)
		if err != nil {
			return nil, err
		}
		t.Shape[i] = int(binary.LittleEndian.Uint32(p))
		if t.Shape[i] != s.shape[i] {
			return nil, fmt.Errorf("%w: dim %d is %d, want %d", ErrShape, i, t.Shape[i], s.shape[i])
		}
	}
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	p, err = take(4 * n)
	if err != nil {
		return nil, err
	}
	t.Data = make([]float32, n)
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return t, nil
}

//go:embed mtcnn.weights
var embedded []byte

var defaultModel = sync.OnceValues(func() (*Model, error) { return Decode(embedded) })

// Default returns the model embedded in the binary: the weights converted
// from the original MTCNN frozen graph. It is decoded once and shared.
func Default() (*Model, error) { return defaultModel() }

// Embedded returns a copy of the embedded converted weights file.
func Embedded() []byte { return append([]byte(nil), embedded...) }
