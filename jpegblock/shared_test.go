package jpegblock

import (
	"bytes"
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// TestPatchSharedJPEGs patches every shared JPEG (camera, Photoshop, IJG
// and gd output, with EXIF, comments, grey): a rectangle filled, the
// pixels of every other MCU must decode as the input's, and the output
// must have no APPn or COM segment (the progressive ivan.jpg and
// multiface.jpg included: their output is baseline). The EXIF-rotated
// hopper_exif6.jpg is refused with ErrUnsupported.
func TestPatchSharedJPEGs(t *testing.T) {
	dir := filepath.Join(testenv.Shared(t), "testdata", "images")
	unsupportedFiles := map[string]bool{"hopper_exif6.jpg": true}
	files, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shared JPEGs in %s (%v)", dir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte{0xFF, 0xD8}) {
			continue // test_image.jpg is a PNG
		}
		t.Run(name, func(t *testing.T) {
			edited := decode(t, data)
			b := edited.Bounds()
			r := image.Rect(b.Dx()/4, b.Dy()/4, b.Dx()/2, b.Dy()/2)
			editRect(edited, r)
			var out bytes.Buffer
			res, err := Patch(&out, data, edited, Options{})
			if unsupportedFiles[name] {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("got %v, want ErrUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Reencoded == 0 || res.Reencoded == len(res.Touched) {
				t.Errorf("%d of %d MCUs re-encoded", res.Reencoded, len(res.Touched))
			}
			samePixels(t, decode(t, data), decode(t, out.Bytes()), func(x, y int) bool {
				return res.Touched[(y/res.MCUHeight)*res.MCUsX+x/res.MCUWidth]
			})
			for _, mk := range markers(t, out.Bytes()) {
				if mk >= 0xE0 && mk <= 0xEF || mk == 0xFE {
					t.Errorf("output has marker %#x", mk)
				}
			}
			t.Logf("%dx%d, MCU %dx%d, %d of %d re-encoded, %d -> %d bytes", b.Dx(), b.Dy(),
				res.MCUWidth, res.MCUHeight, res.Reencoded, len(res.Touched), len(data), out.Len())
		})
	}
}
