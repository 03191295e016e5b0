package weights_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mtcnn-go/mtcnn/internal/shared"
	"github.com/mtcnn-go/mtcnn/weights"
)

// Fuzz targets for the three parsers of this package. The committed seeds
// in testdata/fuzz are truncated weights files of our own; the seeds added
// here are built from the embedded model and, when the shared ground truth
// is present, taken from the reference frozen graph (whose bytes are never
// committed here).

// referenceGraphSeeds returns pieces of the reference mtcnn.pb: a prefix cut
// at a node boundary and the whole file, or nothing when it is absent.
func referenceGraphSeeds() [][]byte {
	dir, err := shared.Dir()
	if err != nil {
		return nil
	}
	pb, err := os.ReadFile(filepath.Join(dir, "models", "mtcnn.pb"))
	if err != nil {
		return nil
	}
	return [][]byte{pb[:min(len(pb), 6431)], pb}
}

// shorthandGraph returns a GraphDef holding every tensor of the layout as a
// Const with a single float_val, TensorFlow's shorthand for a tensor filled
// with one value: a valid MTCNN frozen graph of a few KB.
func shorthandGraph(m *weights.Model) []byte {
	var g []byte
	for i, name := range m.Names() {
		var shape []byte
		for _, d := range weights.Shape(name) {
			dim := protowire.AppendTag(nil, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
			shape = protowire.AppendTag(shape, 2, protowire.BytesType)
			shape = protowire.AppendBytes(shape, dim)
		}
		var tensor []byte
		tensor = protowire.AppendTag(tensor, 1, protowire.VarintType)
		tensor = protowire.AppendVarint(tensor, uint64(weights.DTFloat))
		tensor = protowire.AppendTag(tensor, 2, protowire.BytesType)
		tensor = protowire.AppendBytes(tensor, shape)
		tensor = protowire.AppendTag(tensor, 5, protowire.Fixed32Type)
		tensor = protowire.AppendFixed32(tensor, math.Float32bits(float32(i)/64))
		attrValue := protowire.AppendTag(nil, 8, protowire.BytesType)
		attrValue = protowire.AppendBytes(attrValue, tensor)
		entry := protowire.AppendTag(nil, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, "value")
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendBytes(entry, attrValue)
		var node []byte
		node = protowire.AppendTag(node, 1, protowire.BytesType)
		node = protowire.AppendString(node, name)
		node = protowire.AppendTag(node, 2, protowire.BytesType)
		node = protowire.AppendString(node, "Const")
		node = protowire.AppendTag(node, 5, protowire.BytesType)
		node = protowire.AppendBytes(node, entry)
		g = protowire.AppendTag(g, 1, protowire.BytesType)
		g = protowire.AppendBytes(g, node)
	}
	return g
}

func embeddedModel(tb testing.TB) *weights.Model {
	tb.Helper()
	m, err := weights.Default()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// FuzzParseGraphDef checks that any input parses or fails with ErrFormat,
// and that the parsed graph's accessors do not panic.
func FuzzParseGraphDef(f *testing.F) {
	f.Add(shorthandGraph(embeddedModel(f)))
	for _, seed := range referenceGraphSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := weights.ParseGraphDef(data)
		if err != nil {
			if !errors.Is(err, weights.ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		for _, c := range g.Consts() {
			n := g.Node(c.Name)
			if n == nil {
				t.Fatalf("Const %q not found by Node", c.Name)
			}
			if v, ok := n.Attrs["value"]; ok && v.Tensor != nil {
				vals, err := v.Tensor.Float32s()
				if err == nil {
					if k, err := v.Tensor.NumElements(); err != nil || k != len(vals) {
						t.Fatalf("%q: %d values, NumElements %d, %v", c.Name, len(vals), k, err)
					}
				}
			}
		}
	})
}

// FuzzFromGraphDef checks that any input gives a model or an error wrapping
// one of the package's sentinels, and that a model it gives survives the
// converted format's round trip.
func FuzzFromGraphDef(f *testing.F) {
	f.Add(shorthandGraph(embeddedModel(f)))
	for _, seed := range referenceGraphSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := weights.FromGraphDef(data)
		if err != nil {
			if !errors.Is(err, weights.ErrFormat) && !errors.Is(err, weights.ErrShape) && !errors.Is(err, weights.ErrMissingTensor) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := weights.Decode(enc)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		again, err := back.MarshalBinary()
		if err != nil || !bytes.Equal(enc, again) {
			t.Fatalf("round trip changed the file (%v)", err)
		}
	})
}

// FuzzDecode checks that any input decodes or fails with a sentinel, and
// that a file it accepts re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	m := embeddedModel(f)
	f.Add(weights.Embedded())
	small, err := weights.FromGraphDef(shorthandGraph(m))
	if err != nil {
		f.Fatal(err)
	}
	enc, err := small.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := weights.Decode(data)
		if err != nil {
			if !errors.Is(err, weights.ErrFormat) && !errors.Is(err, weights.ErrShape) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		enc, err := m.MarshalBinary()
		if err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
	})
}
