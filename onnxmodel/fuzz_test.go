package onnxmodel

import (
	"errors"
	"slices"
	"testing"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// FuzzDecodeNet feeds arbitrary bytes to the ONNX reader: it must never
// panic or exhaust memory, every error must wrap one of the package's
// sentinels, and a net it accepts must have every tensor in the layout's
// shape. Seeds: the exported nets and a facenet-style R-Net built here,
// plus the small files in testdata/fuzz/FuzzDecodeNet.
func FuzzDecodeNet(f *testing.F) {
	m, err := weights.Default()
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range allKinds {
		data, err := Encode(m, k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(facenet.build(f, m, nets.RNet))
	f.Add(pnetSpec().build())
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := DecodeNet(data, Options{RGB: true, XYFirst: true})
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTopology) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		names := map[string]bool{}
		for _, tt := range n.Tensors {
			want := weights.Shape(tt.Name)
			if want == nil || names[tt.Name] || !slices.Equal(tt.Shape, want) || len(tt.Data) != product(want) {
				t.Fatalf("%v: tensor %q shape %v with %d values; layout wants %v", n.Kind, tt.Name, tt.Shape, len(tt.Data), want)
			}
			names[tt.Name] = true
		}
	})
}
