package onnxmodel

import (
	"math"
	"testing"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

func defaultModel(tb testing.TB) *weights.Model {
	tb.Helper()
	m, err := weights.Default()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// sameWeights reports the first tensor of want that got does not hold
// bit for bit.
func sameWeights(tb testing.TB, got, want *weights.Model) {
	tb.Helper()
	for _, name := range want.Names() {
		g, w := got.Tensor(name), want.Tensor(name)
		if g == nil {
			tb.Errorf("%s: missing", name)
			continue
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				tb.Errorf("%s[%d] = %v, want %v", name, i, g.Data[i], w.Data[i])
				break
			}
		}
	}
}

// TestRoundTrip exports the embedded model and imports it again: every
// tensor must come back bit for bit.
func TestRoundTrip(t *testing.T) {
	m := defaultModel(t)
	var ns []*Net
	for _, k := range []nets.Kind{nets.ONet, nets.PNet, nets.RNet} {
		data, err := Encode(m, k)
		if err != nil {
			t.Fatal(err)
		}
		n, err := DecodeNet(data, Options{})
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		if n.Kind != k {
			t.Errorf("decoded %v as %v", k, n.Kind)
		}
		if len(n.Notes) != 0 {
			t.Errorf("%v: notes %q", k, n.Notes)
		}
		t.Logf("%v: %d bytes", k, len(data))
		ns = append(ns, n)
	}
	got, err := Assemble(ns...)
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, got.Weights, m)
}
