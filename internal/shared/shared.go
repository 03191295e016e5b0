// Package shared locates the project's read-only ground truth: the folder
// holding the reference model, the test images and the reference outputs
// (models/mtcnn.pb, testdata/images, testdata/reference). Tests reach it
// through internal/testenv; programs such as the benchmarks use this
// package directly.
package shared

import (
	"errors"
	"os"
	"path/filepath"
)

// Dir returns where the shared folder should be: $MTCNN_SHARED if set, else
// ../shared beside the module root. It does not check that it exists.
func Dir() (string, error) {
	if dir := os.Getenv("MTCNN_SHARED"); dir != "" {
		return dir, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared"), nil
}

// ModuleRoot walks up from the working directory to the folder with go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory; run from the module")
		}
		dir = parent
	}
}
