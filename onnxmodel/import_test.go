package onnxmodel

import (
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/nets"
)

// torchStyles are the export variants the importer accepts.
var torchStyles = []torchStyle{
	facenet,
	{name: "facenet-opset13", opset: 13, rgb: true, xy: true, ceil: true, slope: "C11", fc: "gemm", flatten: "permute-view"},
	{name: "bgr-yx-1C11-gemmT-flatten", opset: 13, slope: "1C11", fc: "gemmT", flatten: "flatten"},
	{name: "matmul-permute-flatten", opset: 12, rgb: true, slope: "C11", fc: "matmul", flatten: "permute-flatten", ceil: true},
	{name: "raw-input-nhwc", opset: 13, xy: true, slope: "C11", fc: "gemm", flatten: "nhwc-reshape", raw: true, nhwc: true},
	{name: "slope-C", opset: 13, rgb: true, xy: true, ceil: true, slope: "C", fc: "gemm", flatten: "permute-view"},
}

// TestImportTorchStyle imports each variant and checks that every tensor
// equals the embedded model's bit for bit, with the expected notes.
func TestImportTorchStyle(t *testing.T) {
	m := defaultModel(t)
	for _, st := range torchStyles {
		t.Run(st.name, func(t *testing.T) {
			var ns []*Net
			for _, k := range allKinds {
				n, err := DecodeNet(st.build(t, m, k), st.options())
				if err != nil {
					t.Fatalf("%v: %v", k, err)
				}
				if n.Kind != k {
					t.Fatalf("%v decoded as %v", k, n.Kind)
				}
				wantCeil := st.ceil && k == nets.PNet
				if got := hasNote(n.Notes, "edge cell"); got != wantCeil {
					t.Errorf("%v: ceil-mode note %v, want %v (notes %q)", k, got, wantCeil, n.Notes)
				}
				if got := hasNote(n.Notes, "slope of shape"); got != (st.slope == "C") {
					t.Errorf("%v: slope note %v, want %v (notes %q)", k, got, st.slope == "C", n.Notes)
				}
				ns = append(ns, n)
			}
			got, err := Assemble(ns...)
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, got.Weights, m)
		})
	}
}

func hasNote(notes []string, s string) bool {
	for _, n := range notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// TestImportWrongConvention shows that the options matter: a facenet-style
// model read without them gives different weights.
func TestImportWrongConvention(t *testing.T) {
	m := defaultModel(t)
	n, err := DecodeNet(facenet.build(t, m, nets.ONet), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range n.Tensors {
		if tt.Name == "onet/conv6-2/biases" {
			if tt.Data[0] == m.Tensor(tt.Name).Data[0] {
				t.Error("x-first regression read as y-first gave the same weights")
			}
			return
		}
	}
	t.Fatal("no onet/conv6-2/biases")
}
