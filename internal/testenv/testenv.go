// Package testenv locates the project's read-only ground truth (the shared
// folder with the reference model, images and reference outputs) for tests.
package testenv

import (
	"image"
	_ "image/png" // the shared images are PNGs
	"os"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/shared"
)

// Shared returns the shared folder: $MTCNN_SHARED if set, else ../shared
// beside the module root. When the folder is missing the test is skipped
// with a message, except under CI (CI=true), where that is a failure.
func Shared(tb testing.TB) string {
	tb.Helper()
	dir, err := shared.Dir()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "models", "mtcnn.pb")); err != nil || st.IsDir() {
		msg := "testenv: shared ground truth not found at " + dir + " (set MTCNN_SHARED to the folder holding models/mtcnn.pb)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return abs
}

// Path returns the path of elem joined under the shared folder.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Shared(tb)}, elem...)...)
}

// Image decodes the image file at path (any format registered by the
// caller's imports), failing the test when it cannot.
func Image(tb testing.TB, path string) image.Image {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return img
}
