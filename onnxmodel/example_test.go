package onnxmodel_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log"
	"os"
	"path/filepath"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/onnxmodel"
	"github.com/mtcnn-go/mtcnn/weights"
)

// Encode one net of the embedded model and read it back.
func ExampleEncode() {
	m, err := weights.Default()
	if err != nil {
		log.Fatal(err)
	}
	data, err := onnxmodel.Encode(m, nets.RNet)
	if err != nil {
		log.Fatal(err)
	}
	n, err := onnxmodel.DecodeNet(data, onnxmodel.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Kind, len(n.Tensors), "tensors")
	// Output: R-Net 16 tensors
}

// Write the embedded model as ONNX files, load them back and detect with
// them.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "mtcnn-onnx")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m, err := weights.Default()
	if err != nil {
		log.Fatal(err)
	}
	if err := onnxmodel.WriteDir(m, dir); err != nil {
		log.Fatal(err)
	}
	// For facenet-pytorch exports: onnxmodel.Options{RGB: true, XYFirst: true}.
	model, err := onnxmodel.Load(onnxmodel.Options{}, dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range model.Nets {
		fmt.Println(n.Kind, filepath.Base(n.Source))
	}
	det, err := cascade.New(model.Weights)
	if err != nil {
		log.Fatal(err)
	}
	faces, err := det.Detect(context.Background(), image.NewGray(image.Rect(0, 0, 64, 64)), cascade.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(faces), "faces in a blank image")
	// Output:
	// P-Net pnet.onnx
	// R-Net rnet.onnx
	// O-Net onet.onnx
	// 0 faces in a blank image
}

// Errors tell malformed files from models that are not MTCNN nets.
func ExampleDecodeNet_errors() {
	_, err := onnxmodel.DecodeNet([]byte("not a model"), onnxmodel.Options{})
	fmt.Println(errors.Is(err, onnxmodel.ErrFormat), errors.Is(err, weights.ErrFormat), errors.Is(err, onnxmodel.ErrTopology))
	// Output: true true false
}
