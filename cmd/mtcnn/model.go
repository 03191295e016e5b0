package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/mtcnn-go/mtcnn/weights"
)

// loadModel returns the embedded model when path is empty, else the model
// in the file at path: a converted weights file (as written by
// "mtcnn convert") or a TensorFlow frozen graph, converted on the fly.
func loadModel(path string) (*weights.Model, error) {
	if path == "" {
		return weights.Default()
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
