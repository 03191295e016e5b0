//go:build noheif || wasm

package imageio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHEIFNotBuilt checks that a build without the HEIF decoders still
// recognises HEIC and AVIF files and rejects them with a clear error.
// .ci/run runs it with -tags noheif.
func TestHEIFNotBuilt(t *testing.T) {
	for _, name := range []string{"astronaut.heic", "astronaut.avif"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = Decode(bytes.NewReader(data), Limits{})
		if !errors.Is(err, ErrNotBuilt) || !errors.Is(err, ErrUnsupported) {
			t.Fatalf("%s: err = %v, want ErrNotBuilt and ErrUnsupported", name, err)
		}
		if !strings.Contains(err.Error(), "not supported in this build") {
			t.Errorf("%s: message %q does not say the build lacks the format", name, err)
		}
	}
}
