package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// TestReconvertEmbedded re-converts the reference frozen graph and checks
// that the result is byte-identical to the embedded weights file.
func TestReconvertEmbedded(t *testing.T) {
	pb, err := os.ReadFile(testenv.Path(t, "models", "mtcnn.pb"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := FromGraphDef(pb)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Embedded()) {
		t.Fatalf("re-converted weights (%d bytes) differ from the embedded file (%d bytes)", len(got), len(Embedded()))
	}
	// The frozen graph's values come through unchanged.
	g, err := ParseGraphDef(pb)
	if err != nil {
		t.Fatal(err)
	}
	want, err := g.Node("onet/conv6-3/biases").Attrs["value"].Tensor.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Tensor("onet/conv6-3/biases").Data; !equalFloats(got, want) {
		t.Errorf("onet/conv6-3/biases = %v, want %v", got, want)
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestDefault(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	names := m.Names()
	if len(names) != 50 {
		t.Fatalf("%d tensors, want 50", len(names))
	}
	params := 0
	for _, n := range names {
		tn := m.Tensor(n)
		if tn == nil {
			t.Fatalf("missing %s", n)
		}
		if want := Shape(n); len(tn.Shape) != len(want) {
			t.Errorf("%s: shape %v, want %v", n, tn.Shape, want)
		}
		params += len(tn.Data)
	}
	// The original MTCNN has 6,632 + 100,178 + 389,040 parameters.
	if params != 495850 {
		t.Errorf("%d parameters, want 495850", params)
	}
	if again, _ := Default(); again != m {
		t.Error("Default decodes the embedded model more than once")
	}
}

// patchedFile returns the embedded file with fn applied to its body and the
// checksum recomputed, so errors past the checksum can be reached.
func patchedFile(fn func(body []byte) []byte) []byte {
	e := Embedded()
	body := fn(e[:len(e)-4])
	return binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(body))
}

func TestDecodeErrors(t *testing.T) {
	e := Embedded()
	// Offset of the first tensor's record: magic + count.
	first := len(Magic) + 4
	flipped := append([]byte(nil), e...)
	flipped[len(flipped)/2] ^= 0x40
	for _, tc := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrFormat, "bad magic"},
		{"magic only", []byte(Magic), ErrFormat, "bad magic"},
		{"frozen graph", []byte("\n\x0bpnet/conv1\x12\x05Const"), ErrFormat, "bad magic"},
		{"truncated", e[:len(e)/3], ErrFormat, "checksum"},
		{"bit flip", flipped, ErrFormat, "checksum"},
		{"tensor count", patchedFile(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(Magic):], 48)
			return b
		}), ErrShape, "48 tensors"},
		{"renamed tensor", patchedFile(func(b []byte) []byte {
			copy(b[first+2:], "qnet")
			return b
		}), ErrFormat, `"pnet/conv1/weights"`},
		{"wrong dim", patchedFile(func(b []byte) []byte {
			// name length, name, rank, then dims: make kh 5.
			off := first + 2 + len("pnet/conv1/weights") + 1
			binary.LittleEndian.PutUint32(b[off:], 5)
			return b
		}), ErrShape, `"pnet/conv1/weights"`},
		{"short body", patchedFile(func(b []byte) []byte { return b[:len(b)-100] }), ErrFormat, `"onet/conv6-3/weights": unexpected EOF`},
		{"trailing bytes", patchedFile(func(b []byte) []byte { return append(b, 0) }), ErrFormat, "trailing"},
		{"NaN weight", patchedFile(func(b []byte) []byte {
			off := first + 2 + len("pnet/conv1/weights") + 1 + 4*4
			binary.LittleEndian.PutUint32(b[off:], math.Float32bits(float32(math.NaN())))
			return b
		}), ErrFormat, "NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.data)
			if err == nil || m != nil {
				t.Fatalf("Decode succeeded")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
}

// TestDecodeEveryPrefix checks that no truncation of the file panics or
// is accepted.
func TestDecodeEveryPrefix(t *testing.T) {
	e := Embedded()
	for n := 0; n < len(e); n += 1 + n/50 {
		if _, err := Decode(e[:n]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	m, err := Decode(Embedded())
	if err != nil {
		t.Fatal(err)
	}
	var ts []*Tensor
	for _, n := range m.Names() {
		ts = append(ts, m.Tensor(n))
	}
	m2, err := NewModel(ts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, Embedded()) {
		t.Error("NewModel + MarshalBinary does not reproduce the file")
	}
}

func TestNewModelErrors(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	all := func() []*Tensor {
		var ts []*Tensor
		for _, n := range m.Names() {
			c := *m.Tensor(n)
			ts = append(ts, &c)
		}
		return ts
	}
	for _, tc := range []struct {
		name string
		edit func([]*Tensor) []*Tensor
		want error
		msg  string
	}{
		{"missing", func(ts []*Tensor) []*Tensor { return ts[1:] }, ErrMissingTensor, "pnet/conv1/weights"},
		{"duplicate", func(ts []*Tensor) []*Tensor { return append(ts, ts[0]) }, ErrFormat, "twice"},
		{"extra", func(ts []*Tensor) []*Tensor {
			return append(ts, &Tensor{Name: "pnet/conv9/weights", Shape: []int{1}, Data: []float32{0}})
		}, ErrFormat, "conv9"},
		{"shape", func(ts []*Tensor) []*Tensor { ts[3].Shape = []int{3, 3, 10, 17}; return ts }, ErrShape, "pnet/conv2/weights"},
		{"data length", func(ts []*Tensor) []*Tensor { ts[1].Data = ts[1].Data[:3]; return ts }, ErrShape, "pnet/conv1/biases"},
		{"infinite", func(ts []*Tensor) []*Tensor {
			ts[2].Data = append([]float32(nil), ts[2].Data...)
			ts[2].Data[0] = float32(math.Inf(1))
			return ts
		}, ErrFormat, "pnet/PReLU1/weights"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewModel(tc.edit(all()))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
}
