package jpegblock

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// TestWriteEditedUpright: WriteEdited turns a JPEG tagged with EXIF
// orientation 6 (frame of whole MCUs) upright losslessly instead of
// re-encoding it: no fallback, no metadata left, the upright size, and
// every block away from the edit within one level of the upright input.
func TestWriteEditedUpright(t *testing.T) {
	orig := testenv.JPEGWithMetadata(goJPEG(t, testImage(64, 48, false), 90)) // 4:2:0, 16x16 MCUs
	up, _, err := imageio.Decode(bytes.NewReader(orig), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b := up.Bounds(); b.Dx() != 48 || b.Dy() != 64 {
		t.Fatalf("upright input is %v, want 48x64", b)
	}
	edited := image.NewRGBA(up.Bounds())
	draw.Draw(edited, edited.Rect, up, up.Bounds().Min, draw.Src)
	draw.Draw(edited, image.Rect(0, 0, 8, 8), image.Black, image.Point{}, draw.Src) // inside the first MCU
	var out bytes.Buffer
	fallback, err := WriteEdited(&out, orig, edited, 95)
	if err != nil || fallback != nil {
		t.Fatalf("WriteEdited: fallback %v, err %v", fallback, err)
	}
	for _, m := range markers(t, out.Bytes()) {
		if m >= 0xE0 && m <= 0xEF || m == 0xFE {
			t.Errorf("output keeps marker %#x (%v)", m, markers(t, out.Bytes()))
		}
	}
	if bytes.Contains(out.Bytes(), []byte("secret")) {
		t.Error("output keeps the metadata's text")
	}
	got, err := jpeg.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != up.Bounds() {
		t.Fatalf("output is %v, want %v", got.Bounds(), up.Bounds())
	}
	worst := 0
	for y := 16; y < 64; y++ { // below the first row of MCUs
		for x := 0; x < 48; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := up.At(x, y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				worst = max(worst, d, -d)
			}
		}
	}
	// One level of IDCT rounding in Y, Cb or Cr can move an RGB channel
	// by a little more than one level.
	if worst > 3 {
		t.Errorf("untouched blocks differ by up to %d levels from the upright input", worst)
	}
	t.Logf("worst difference away from the edit: %d levels", worst)
}
