package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/mtcnn-go/mtcnn/onnxmodel"
	"github.com/mtcnn-go/mtcnn/weights"
)

// loadModel returns the embedded model when path is empty, else the model
// at path: a converted weights file (as written by "mtcnn convert"), a
// TensorFlow frozen graph, converted on the fly, or ONNX models in this
// project's convention (a directory holding pnet.onnx, rnet.onnx and
// onet.onnx, or three comma-separated .onnx files; see loadModelOpts for
// others).
func loadModel(path string) (*weights.Model, error) {
	if path == "" {
		return weights.Default()
	}
	if isONNXPath(path) {
		return loadONNX(path, onnxmodel.Options{}, io.Discard)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	var m *weights.Model
	if bytes.HasPrefix(data, []byte(weights.Magic)) {
		m, err = weights.Decode(data)
	} else {
		m, err = weights.FromGraphDef(data)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return m, nil
}
